"""Tests of the HTTP API (padron.api)."""
