"""From a partner's ANSI/NIST-ITL request to padron's sample inputs, and back to an answer.

:func:`sample_inputs` turns a transaction into what the biometric use cases take
(:func:`padron.biometrics.samples.extract_samples`, :class:`padron.api.uploads.Upload`): the face
image bytes and the finger image bytes by position ``"1"`` .. ``"10"``. Images stay as the sender
compressed them where padron decodes that format (PNG, baseline JPEG); raw 8-bit pixels
(compression NONE, Type-4 CGA 0) become PNG; WSQ, JPEG lossless and JPEG 2000 are refused with
PAD-NIST-013 (padron decodes none of them). A finger image carries the resolution its record
declares (PNG pHYs, JPEG JFIF density; none written at the nominal 500 ppi, which padron assumes),
so the fingerprint decoder resamples it correctly. Images that are no single finger (slaps, plain
thumbs, several possible positions), non-face Type-10 images and bi-level Types 5/6 are skipped
and named in :attr:`SampleInputs.skipped`.

:func:`reply_to` builds the answering transaction (destination = the request's originator,
1.010 TCR = the request's TCN); :func:`face_record_for` and :func:`finger_record_for` wrap a PNG or
JPEG image into a Type-10 / Type-14 record, reading its size from the image's header.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from padron.interchange.ansinist.model import (
    BinaryImageRecord,
    Compression,
    FaceImage,
    FingerImage,
    Record,
    TaggedRecord,
    Transaction,
    Where,
)
from padron.interchange.ansinist.writer import face_record, finger_record
from padron.interchange.errors import (
    NistAmbiguousSampleError,
    NistError,
    NistImageFormatError,
    NistNoSampleError,
    NistUnsupportedImageError,
)

if TYPE_CHECKING:
    from PIL import Image

#: padron's fingerprint decoder assumes this resolution for a file that declares none
NOMINAL_PPI: Final = 500.0
_PASSED_THROUGH: Final = frozenset({Compression.PNG, Compression.JPEGB})
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SampleInputs:
    """The samples of a transaction, as the biometric use cases take them."""

    face: bytes | None
    #: image bytes by finger position "1".."10"
    fingers: Mapping[str, bytes]
    #: the resolution each finger image's record declares (pixels per inch), where it does
    finger_ppi: Mapping[str, float] = field(default_factory=dict)
    #: image records not used, each with the reason
    skipped: tuple[str, ...] = ()

    @property
    def images(self) -> dict[str, bytes]:
        """The images by slot (``face``, ``1``..``10``), like :attr:`Upload.images`."""
        out = dict(self.fingers)
        if self.face is not None:
            out["face"] = self.face
        return out


def sample_inputs(tx: Transaction, *, require: bool = True) -> SampleInputs:
    """The face and finger images of ``tx`` (see the module's notes). Two usable images for one
    slot are refused (PAD-NIST-014); with ``require``, so is a transaction with none (PAD-NIST-015)."""
    skipped: list[str] = []
    face: bytes | None = None
    face_from: FaceImage | None = None
    for photo in tx.face_images():
        where = Where(photo.record, 10)
        if not photo.is_face:
            skipped.append(f"{where.text()}: a {photo.image_type} image, not a face")
            continue
        if face_from is not None:
            raise where.error(
                NistAmbiguousSampleError,
                f"a second face image (the first is record {face_from.record}); send one",
                first_record=face_from.record,
            )
        face, face_from = _face_bytes(photo, where), photo
    fingers: dict[str, bytes] = {}
    ppi: dict[str, float] = {}
    sources: dict[str, FingerImage] = {}
    for image in tx.finger_images():
        where = Where(image.record, image.record_type)
        finger = image.finger
        if finger is None or len(image.positions) != 1:
            skipped.append(
                f"{where.text()}: finger position {'/'.join(map(str, image.positions))} is not one "
                "finger (1-10)"
            )
            continue
        slot = str(finger.value)
        if slot in sources:
            raise where.error(
                NistAmbiguousSampleError,
                f"a second image of finger {slot} (the first is record {sources[slot].record}); send one",
                position=finger.value,
                first_record=sources[slot].record,
            )
        fingers[slot] = _finger_bytes(image, where)
        sources[slot] = image
        if image.ppi is not None:
            ppi[slot] = image.ppi
    for index, record in enumerate(tx.records, start=2):
        if isinstance(record, BinaryImageRecord) and record.type in (5, 6):
            skipped.append(f"{Where(index, record.type).text()}: a bi-level image, not grey")
    if require and face is None and not fingers:
        reasons = (
            f" (skipped: {'; '.join(skipped[:3])}{'; ...' if len(skipped) > 3 else ''})" if skipped else ""
        )
        raise NistNoSampleError(
            "the transaction carries no usable sample: no Type-10 face and no Type-4 or Type-14 "
            f"image of a single finger{reasons}",
            skipped=skipped,
        )
    return SampleInputs(face=face, fingers=fingers, finger_ppi=ppi, skipped=tuple(skipped))


def _unsupported(where: Where, what: str, compression: Compression) -> NistError:
    return where.error(
        NistUnsupportedImageError,
        f"the {what} is {compression.value}-compressed; padron does not decode "
        f"{compression.value}: send PNG, baseline JPEG (JPEGB) or raw grey (NONE)",
        compression=compression.value,
    )


def _face_bytes(image: FaceImage, where: Where) -> bytes:
    if image.compression in _PASSED_THROUGH:
        return image.data
    if image.compression is not Compression.NONE:
        raise _unsupported(where, "face image", image.compression)
    from PIL import Image

    size = (image.width, image.height)
    channels = 1 if image.color_space == "GRAY" else 3
    pixels = image.data[: image.width * image.height * channels]
    if image.color_space == "GRAY":
        picture = Image.frombytes("L", size, pixels)
    elif image.color_space in ("YCC", "SYCC"):
        picture = Image.frombytes("YCbCr", size, pixels).convert("RGB")
    else:
        picture = Image.frombytes("RGB", size, pixels)
    return _png(picture, None)


def _finger_bytes(image: FingerImage, where: Where) -> bytes:
    if image.compression is Compression.NONE:
        if image.bits_per_pixel != 8:
            raise where.error(
                NistUnsupportedImageError,
                f"the finger image has {image.bits_per_pixel} bits per pixel; padron takes 8-bit grey",
                bits_per_pixel=image.bits_per_pixel,
            )
        from PIL import Image

        pixels = image.data[: image.width * image.height]
        return _png(Image.frombytes("L", (image.width, image.height), pixels), image.ppi)
    if image.compression is Compression.PNG:
        return _png_with_ppi(image.data, image.ppi)
    if image.compression is Compression.JPEGB:
        return _jpeg_with_ppi(image.data, image.ppi)
    raise _unsupported(where, "finger image", image.compression)


def _png(picture: Image.Image, ppi: float | None) -> bytes:
    out = io.BytesIO()
    if ppi is None or abs(ppi - NOMINAL_PPI) < 0.5:
        picture.save(out, format="PNG")
    else:
        picture.save(out, format="PNG", dpi=(ppi, ppi))
    return out.getvalue()


def _png_with_ppi(data: bytes, ppi: float | None) -> bytes:
    """``data`` with its pHYs chunk saying ``ppi`` (none at the nominal 500, which padron
    assumes exactly); a PNG whose chunks cannot be walked is returned as it is, for padron's
    image decoder to refuse."""
    if ppi is None:
        return data
    chunks: list[bytes] = []
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length
        if end > len(data):
            return data
        kind = data[pos + 4 : pos + 8]
        if kind != b"pHYs":
            chunks.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][4:8] != b"IHDR" or chunks[-1][4:8] != b"IEND":
        return data
    if abs(ppi - NOMINAL_PPI) >= 0.5:
        per_metre = round(ppi / 0.0254)
        body = b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1)
        chunks.insert(1, struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body)))
    return _PNG_SIGNATURE + b"".join(chunks) + data[pos:]


def _jpeg_with_ppi(data: bytes, ppi: float | None) -> bytes:
    """``data`` with a JFIF density of ``ppi`` dots per inch (its JFIF segment patched, or one
    inserted after the start-of-image marker)."""
    if ppi is None:
        return data
    density = max(1, min(0xFFFF, round(ppi)))
    units = struct.pack(">BHH", 1, density, density)
    if data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00" and len(data) >= 20:
        (length,) = struct.unpack_from(">H", data, 4)
        if length >= 16:
            return data[:13] + units + data[18:]
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01" + units + b"\x00\x00"
    return data[:2] + app0 + data[2:]


# --- answering ----------------------------------------------------------------------------------


def reply_to(
    request: Transaction,
    *,
    type_of_transaction: str,
    control_number: str,
    records: Sequence[Record] = (),
    originating_agency: str | None = None,
    on: date | None = None,
    priority: int | None = None,
) -> Transaction:
    """The transaction answering ``request``: sent to its originator (1.007 DAI = its ORI), from
    ``originating_agency`` (default: the agency it was addressed to), 1.010 TCR = its TCN, in the
    2011 version, with ``records`` (e.g. a :func:`text_record` with the answer's fields)."""
    domain = request.other(13)
    return Transaction(
        type_of_transaction=type_of_transaction,
        date=on or datetime.now(UTC).date(),
        destination_agency=request.originating_agency,
        originating_agency=originating_agency or request.destination_agency,
        control_number=control_number,
        control_reference=request.control_number,
        priority=priority if priority is not None else request.priority,
        records=tuple(records),
        other_fields=(domain,) if domain is not None else (),
    )


def _header(data: bytes, what: str) -> tuple[Compression, int, int, str]:
    """Compression, width, height and Pillow mode of a PNG or JPEG, from its header only."""
    from PIL import Image, UnidentifiedImageError

    if data.startswith(_PNG_SIGNATURE):
        compression = Compression.PNG
    elif data.startswith(b"\xff\xd8\xff"):
        compression = Compression.JPEGB
    else:
        raise NistImageFormatError(f"the {what} is neither PNG nor JPEG (first bytes {data[:4].hex()})")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as picture:
            width, height = picture.size
            return compression, width, height, picture.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise NistImageFormatError(f"the {what}'s header cannot be read: {error}") from None


def face_record_for(image: bytes, *, idc: int, source_agency: str, photo_date: date) -> TaggedRecord:
    """A Type-10 face record holding a PNG or JPEG ``image`` (size and colour space from its header)."""
    compression, width, height, mode = _header(image, "face image")
    return face_record(
        image,
        idc=idc,
        compression=compression,
        width=width,
        height=height,
        source_agency=source_agency,
        photo_date=photo_date,
        color_space="GRAY" if mode in ("L", "LA", "1", "I;16") else "SRGB",
    )


def finger_record_for(
    image: bytes,
    *,
    idc: int,
    position: int,
    source_agency: str,
    capture_date: date,
    ppi: int = 500,
    impression: int = 0,
) -> TaggedRecord:
    """A Type-14 record holding one finger's PNG or JPEG ``image`` (size from its header)."""
    compression, width, height, _ = _header(image, "finger image")
    return finger_record(
        image,
        idc=idc,
        position=position,
        compression=compression,
        width=width,
        height=height,
        source_agency=source_agency,
        capture_date=capture_date,
        ppi=ppi,
        impression=impression,
    )
