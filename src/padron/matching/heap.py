"""Returning the C heap's free memory to the operating system after a gallery is loaded.

A start-up rebuild decodes every template and a segment load opens every part: gigabytes of
temporaries that Python frees, but that glibc's allocator keeps in the process's heap (freed chunks
below the mmap threshold, and arenas of other threads), so the process's resident memory after
start-up is the gallery plus most of what loading it needed. ``malloc_trim(0)`` hands those free
pages back (measured in ``benchmarks/gallery_startup.py``: see the README's gallery start-up section).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Give the heap's free pages back to the operating system; whether anything was released
    (False where the C library has no ``malloc_trim``)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
