"""Interchange formats for partner agencies: ANSI/NIST-ITL 1-2011 traditional encoding."""
