"""Decoding, quality, extraction and comparison per modality (face, fingerprint). Imports domain only."""
