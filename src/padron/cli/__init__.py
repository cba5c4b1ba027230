"""The `padron` command line (Typer)."""
