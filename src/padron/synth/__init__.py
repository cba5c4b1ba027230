"""Synthetic data for demos, tests and scale benchmarks. Imports domain only."""
