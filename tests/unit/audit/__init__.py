"""Tests of the audit log: entries, Merkle tree, checkpoints, verification."""
