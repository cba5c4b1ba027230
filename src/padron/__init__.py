"""padron: an open, self-hostable unified biometric identification system."""

__version__ = "0.1.0"
