"""The persistent, versioned biometric template envelope.

A template is what padron stores and compares: the algorithm that made it, that algorithm's
template version, an optional quality score (0-100) and the algorithm's own payload bytes.
The envelope serializes to a small binary header + payload; never pickle.

Layout (big-endian)::

    magic    4 bytes  b"PDTP"
    format   u8       envelope format version (1)
    modality u8 len + ASCII      e.g. "face", "fingerprint"
    algorithm u8 len + ASCII     e.g. "dlib-resnet-v1"
    version  u16      the algorithm's template version
    quality  f32      0-100, NaN when unknown
    length   u32      payload length
    payload  bytes
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import StrEnum

from padron.domain.errors import PadronError

MAGIC = b"PDTP"
ENVELOPE_VERSION = 1


class TemplateFormatError(PadronError):
    code = "PAD-TPL-001"
    summary = "Stored template bytes are not a padron template (bad magic, truncated, or unknown version)."


class TemplateMismatchError(PadronError):
    code = "PAD-TPL-002"
    summary = "A template was given to a comparator of another modality, algorithm or version."


class Modality(StrEnum):
    FACE = "face"
    FINGERPRINT = "fingerprint"
    IRIS = "iris"


@dataclass(frozen=True, slots=True)
class Template:
    modality: Modality
    algorithm: str
    version: int
    payload: bytes
    quality: float | None = None

    def to_bytes(self) -> bytes:
        modality = self.modality.value.encode("ascii")
        algorithm = self.algorithm.encode("ascii")
        quality = math.nan if self.quality is None else float(self.quality)
        header = struct.pack(
            f">4sBB{len(modality)}sB{len(algorithm)}sHfI",
            MAGIC,
            ENVELOPE_VERSION,
            len(modality),
            modality,
            len(algorithm),
            algorithm,
            self.version,
            quality,
            len(self.payload),
        )
        return header + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> Template:
        try:
            magic, envelope = struct.unpack_from(">4sB", data, 0)
            if magic != MAGIC:
                raise TemplateFormatError("not a padron template (bad magic)")
            if envelope != ENVELOPE_VERSION:
                raise TemplateFormatError(f"unknown template envelope version {envelope}", version=envelope)
            offset = 5
            (n,) = struct.unpack_from(">B", data, offset)
            modality = Modality(data[offset + 1 : offset + 1 + n].decode("ascii"))
            offset += 1 + n
            (n,) = struct.unpack_from(">B", data, offset)
            algorithm = data[offset + 1 : offset + 1 + n].decode("ascii")
            offset += 1 + n
            version, quality, length = struct.unpack_from(">HfI", data, offset)
            offset += struct.calcsize(">HfI")
        except (struct.error, UnicodeDecodeError, ValueError) as error:
            raise TemplateFormatError(f"truncated or malformed template header: {error}") from None
        payload = data[offset:]
        if len(payload) != length:
            raise TemplateFormatError(
                f"template payload is {len(payload)} bytes, header says {length}",
                expected=length,
                actual=len(payload),
            )
        return cls(
            modality=modality,
            algorithm=algorithm,
            version=version,
            payload=bytes(payload),
            quality=None if math.isnan(quality) else float(quality),
        )

    def require(self, modality: Modality, algorithm: str, version: int) -> None:
        """Refuse a template made by another algorithm or version (TemplateMismatchError)."""
        if (self.modality, self.algorithm, self.version) != (modality, algorithm, version):
            raise TemplateMismatchError(
                f"expected a {modality.value} template of {algorithm} v{version}, "
                f"got {self.modality.value} {self.algorithm} v{self.version}",
            )
