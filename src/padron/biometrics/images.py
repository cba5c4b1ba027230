"""The one guard every modality decodes its images through (face photos, fingerprint impressions).

An :class:`ImagePolicy` says what a modality accepts; :func:`open_image` checks the header
against it and :func:`decode_frame` decodes the first frame. The checks run in this order, each
refusal with the modality's own error class (:class:`ImageErrors`), so every modality refuses the
same bad file for the same reason:

1. zero bytes                                          -> ``empty``
2. no accepted format's reader recognizes the file     -> ``not_an_image``, or ``truncated`` when
   it starts with an accepted format's signature (a PNG cut inside its header)
3. a format Pillow reads but the modality does not     -> ``unsupported_format``
4. a pixel mode the modality refuses (e.g. 16-bit)      -> ``unsupported_mode``
5. more pixels, or a longer side, than the limits     -> ``too_large``
6. a side shorter than the minimum                     -> ``too_small``
7. the declared pixels would expand more than
   ``max_expansion`` times the file's size, or a PNG
   text chunk decompresses beyond Pillow's limit       -> ``bomb``
8. the pixel data ends early or is corrupt             -> ``truncated``

Steps 1-7 read only the header: a 169-megapixel PNG or a 60-byte file declaring 4000x4000
pixels is refused before any pixel memory is allocated. Only the formats a policy accepts are
ever handed to their Pillow readers for decoding (an EPS file is named, never rendered).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from padron.domain.errors import PadronError

if TYPE_CHECKING:
    from PIL import Image, ImageFile

#: the largest image file accepted from any channel (a command-line file, one part of an HTTP
#: upload): far above a 1,000-ppi finger or an ICAO face photo, far below what would exhaust memory
MAX_IMAGE_BYTES = 16 * 1024 * 1024

T = TypeVar("T")

#: what Pillow raises for undecodable data, besides its own UnidentifiedImageError and
#: DecompressionBombError (which are mapped separately)
_DECODE_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
    ZeroDivisionError,
    struct.error,
    zlib.error,
)
#: signatures strong enough to say "this is a <format> whose header is broken"
_SIGNATURES: dict[bytes, str] = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"\x00\x00\x00\x0cjP  \r\n\x87\n": "JPEG2000",
    b"\xff\x4f\xff\x51": "JPEG2000",
}
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageErrors:
    """The error class a modality raises for each way an image can be refused."""

    empty: type[PadronError]
    not_an_image: type[PadronError]
    unsupported_format: type[PadronError]
    truncated: type[PadronError]
    too_large: type[PadronError]
    bomb: type[PadronError]
    too_small: type[PadronError]
    #: needed only by a policy that refuses some pixel modes
    unsupported_mode: type[PadronError] | None = None


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    """What one modality accepts. Sides and pixels are counted in the file's own pixels."""

    #: names the input in messages: "face image", "fingerprint image"
    noun: str
    #: Pillow format names (``Image.format``) accepted; MPO is a phone's multi-picture JPEG
    formats: frozenset[str]
    #: the accepted formats as users know them, for messages: "JPEG, PNG, PGM, GIF or TIFF"
    formats_hint: str
    max_pixels: int
    min_side: int
    errors: ImageErrors
    max_side: int | None = None
    #: Pillow modes refused from the header (e.g. "I;16"), with ``errors.unsupported_mode``
    refused_modes: frozenset[str] = field(default_factory=frozenset)
    refused_modes_hint: str = ""
    #: bytes per pixel of what the modality decodes to (3 for RGB, 1 for grey), for the bomb check
    decoded_bytes_per_pixel: int = 3
    #: decoded bytes per byte of file above which (for images over ``expansion_floor_bytes``
    #: decoded) nothing is decoded: real photographs and scans compress 2:1 to 50:1, and zlib
    #: itself cannot exceed about 1032:1, so 1000:1 only happens for a file whose header
    #: declares far more pixels than its data holds
    max_expansion: int = 1000
    expansion_floor_bytes: int = 8 * _MIB

    def __post_init__(self) -> None:
        if self.refused_modes and self.errors.unsupported_mode is None:
            raise ValueError(f"the {self.noun} policy refuses modes but has no error class for them")


@contextmanager
def open_image(data: bytes, policy: ImagePolicy) -> Iterator[ImageFile.ImageFile]:
    """Pillow's view of ``data`` with its header checked against ``policy`` (steps 1-7); nothing
    is decoded. Use :func:`decode_frame` inside the ``with`` block for the pixels."""
    from PIL import Image, UnidentifiedImageError

    errors = policy.errors
    if len(data) == 0:
        raise errors.empty(f"the {policy.noun} is empty (0 bytes)")
    Image.init()  # every reader registered, so that TIFF and JPEG 2000 are known by name
    readers = [name for name in sorted(policy.formats) if name in Image.OPEN]
    with warnings.catch_warnings():
        # Pillow warns above 89 megapixels; every policy's own limit is far lower
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=readers)
        except UnidentifiedImageError:
            raise _unidentified(data, policy) from None
        except Image.DecompressionBombError:
            raise errors.too_large(
                f"the {policy.noun}'s header declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} "
                f"pixels; the limit is {policy.max_pixels:,}",
                max_pixels=policy.max_pixels,
            ) from None
        except _DECODE_FAILURES as error:
            raise _decode_failure(error, policy, "header") from None
    with image:
        _check_header(image, len(data), policy)
        yield image


def decode_frame(image: ImageFile.ImageFile, policy: ImagePolicy, convert: Callable[[Image.Image], T]) -> T:
    """Decode the first frame of an image from :func:`open_image` and apply ``convert`` (Pillow
    and numpy operations on the decoded image), refusing truncated or corrupt data (step 8)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.seek(0)
            image.load()
            return convert(image)
        except Image.DecompressionBombError as error:
            raise policy.errors.bomb(f"refused to decompress the {policy.noun}: {error}") from None
        except _DECODE_FAILURES as error:
            raise _decode_failure(error, policy, "data") from None


def _check_header(image: ImageFile.ImageFile, file_bytes: int, policy: ImagePolicy) -> None:
    errors = policy.errors
    fmt = image.format or "unknown"
    if fmt not in policy.formats:
        raise errors.unsupported_format(
            f"{fmt} images are not accepted as a {policy.noun}; use {policy.formats_hint}", format=fmt
        )
    if image.mode in policy.refused_modes:
        assert errors.unsupported_mode is not None  # enforced by ImagePolicy.__post_init__
        raise errors.unsupported_mode(
            f"the {policy.noun} has pixel mode {image.mode}; {policy.refused_modes_hint}", mode=image.mode
        )
    width, height = image.size
    pixels = width * height
    if pixels > policy.max_pixels:
        raise errors.too_large(
            f"the {policy.noun} has {pixels / 1e6:.1f} megapixels ({width}x{height}); the limit is "
            f"{policy.max_pixels / 1e6:g}",
            width=width,
            height=height,
            max_pixels=policy.max_pixels,
        )
    if policy.max_side is not None and max(width, height) > policy.max_side:
        raise errors.too_large(
            f"the {policy.noun} is {width}x{height} pixels; no side may exceed {policy.max_side}",
            width=width,
            height=height,
            max_side=policy.max_side,
        )
    if min(width, height) < policy.min_side:
        raise errors.too_small(
            f"the {policy.noun} is {width}x{height} pixels; at least {policy.min_side}x{policy.min_side} "
            "is needed",
            width=width,
            height=height,
            min_side=policy.min_side,
        )
    decoded_bytes = pixels * policy.decoded_bytes_per_pixel
    if decoded_bytes > policy.expansion_floor_bytes and decoded_bytes > policy.max_expansion * file_bytes:
        raise errors.bomb(
            f"a {file_bytes:,}-byte {policy.noun} declares {width}x{height} pixels "
            f"({decoded_bytes // file_bytes:,}:1 expansion); it was not decoded",
            width=width,
            height=height,
            file_bytes=file_bytes,
        )


def _unidentified(data: bytes, policy: ImagePolicy) -> PadronError:
    """No accepted reader took the file: a broken header of an accepted format, a format the
    modality does not accept (named by its signature or by the Pillow reader that takes it;
    nothing is decoded), or not an image at all."""
    from PIL import Image, UnidentifiedImageError

    errors = policy.errors
    fmt = next((name for signature, name in _SIGNATURES.items() if data.startswith(signature)), None)
    if fmt in policy.formats:
        return errors.truncated(
            f"the {policy.noun} starts like a {fmt} file but its header is truncated or corrupt"
        )
    if fmt is None:
        try:
            with Image.open(io.BytesIO(data)) as other:
                fmt = other.format
        except (UnidentifiedImageError, Image.DecompressionBombError):
            pass
        except _DECODE_FAILURES:
            pass
    if fmt:
        return errors.unsupported_format(
            f"{fmt} images are not accepted as a {policy.noun}; use {policy.formats_hint}", format=fmt
        )
    return errors.not_an_image(
        f"the {policy.noun} is not an image in any accepted format ({policy.formats_hint}); "
        f"its first bytes are {data[:8]!r}",
        size=len(data),
    )


def _decode_failure(error: Exception, policy: ImagePolicy, part: str) -> PadronError:
    # Pillow's PNG reader refuses a text or ICC chunk that inflates beyond MAX_TEXT_CHUNK, or text
    # chunks beyond MAX_TEXT_MEMORY in all, with a ValueError naming the limit
    if isinstance(error, ValueError) and "MAX_TEXT" in str(error):
        return policy.errors.bomb(f"refused to decompress the {policy.noun}: {error}")
    detail = str(error) or type(error).__name__
    return policy.errors.truncated(f"the {policy.noun}'s {part} is truncated or corrupt: {detail}")
