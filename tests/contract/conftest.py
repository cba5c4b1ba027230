"""Shared fixtures of the contract suites (the Ray runtime is in tests/conftest.py, shared with
the API suite)."""
