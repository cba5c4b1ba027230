"""Append-only, hash-chained audit log and the resident's access history. Imports domain only."""
