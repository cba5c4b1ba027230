"""Calibration files (JSON) shipped with the package, one per algorithm."""
