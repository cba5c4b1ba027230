"""The API's routes, one router per area, each built by a function (nothing at import)."""
