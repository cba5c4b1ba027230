"""Gallery backends: in-process (memory) and distributed (Ray)."""
