"""After a load's temporaries are freed, ``release_free_memory`` gives their pages back: the
process's anonymous resident memory falls (glibc; elsewhere the call says it released nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from padron.matching.heap import _malloc_trim, release_free_memory


def _anonymous_rss() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no RssAnon in /proc/self/status")


def test_freed_temporaries_leave_the_process() -> None:
    if _malloc_trim() is None:
        assert release_free_memory() is False
        pytest.skip("the C library has no malloc_trim")
    # 200 MB of 10 KB buffers (below glibc's mmap threshold: they live in the heap), one in 50
    # kept, so the heap cannot shrink from its top alone
    buffers = [bytearray(10_000) for _ in range(20_000)]
    kept = buffers[::50]
    del buffers
    before = _anonymous_rss()
    release_free_memory()
    after = _anonymous_rss()
    assert before - after > 100_000_000, (before, after)
    assert len(kept) == 400
