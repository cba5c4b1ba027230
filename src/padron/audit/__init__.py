"""Append-only, hash-chained audit log and the resident's access history. Imports domain only.

``entry`` (what one access records and its canonical bytes), ``merkle`` (RFC 6962 tree hash and
proofs), ``checkpoint`` (C2SP signed checkpoints, keys, cosignatures) and ``verify`` (checking a
stored log and proving one entry). The design is described in :mod:`padron.audit.verify`.
"""
