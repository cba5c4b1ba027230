"""Use cases of the identity registry and their storage. Imports domain, biometrics, matching, audit."""
