"""Reading the files a user names on the command line: bounded, regular files only.

Every input file goes through :func:`read_input`, so a device (``/dev/zero``), a FIFO or a
multi-gigabyte file is refused before it is read without limit, and an empty file gets its own
code instead of whatever the decoder makes of zero bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from padron.biometrics.images import MAX_IMAGE_BYTES
from padron.domain.errors import EmptyInputError, InputFileError, InputTooLargeError

#: limits per kind of input (bytes)
PERSON_FILE_LIMIT = 64 * 1024
#: the same limit as an image uploaded over HTTP
IMAGE_FILE_LIMIT = MAX_IMAGE_BYTES


def read_input(path: Path, *, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises InputFileError (missing, a directory, not a regular file, unreadable),
    InputTooLargeError (more than ``limit`` bytes, found by reading at most ``limit + 1``) or
    EmptyInputError. ``what`` names the input in messages ("person file", "face image").
    """
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang; it is refused below
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise InputFileError(f"cannot read the {what} {path}: {error.strerror}", path=str(path)) from None
    except ValueError:  # a NUL character in the path
        raise InputFileError(
            f"the {what} path {str(path)!r} is not a valid file name", path=str(path)
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputFileError(f"the {what} {path} is a directory, not a file", path=str(path))
        if not stat.S_ISREG(mode):
            raise InputFileError(
                f"the {what} {path} is not a regular file (a device, pipe or socket)", path=str(path)
            )
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as error:
        raise InputFileError(f"cannot read the {what} {path}: {error.strerror}", path=str(path)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputTooLargeError(
            f"the {what} {path} is larger than {limit:,} bytes; it was not read further",
            path=str(path),
            limit=limit,
        )
    if not data:
        raise EmptyInputError(f"the {what} {path} is empty (0 bytes)", path=str(path))
    return data
