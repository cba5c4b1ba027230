"""Galleries, fusion, calibrated thresholds and de-duplication decisions. Imports domain and biometrics."""
