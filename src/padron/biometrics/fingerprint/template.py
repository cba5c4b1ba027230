"""padron's native fingerprint template: minutiae + packed MCC cylinders, in a documented layout.

The payload (inside the :class:`padron.domain.template.Template` envelope, algorithm
``padron-mcc``) is little-endian::

    magic        4 bytes  b"PFM1"
    layout       u8       payload layout version (1)
    chain        u8       0 = classic, 1 = leader
    width        u16      image width at 500 dpi
    height       u16      image height at 500 dpi
    ns           u8       spatial cells per side
    nd           u8       direction cells
    radius       f32      cylinder radius, pixels
    nfiq2        u8       NFIQ 2 score 0-100, 255 = not measured
    n            u16      number of minutiae
    minutiae     n x 11 bytes: x f32, y f32, angle u16 (2*pi/65536 units), kind u8
                 ... written as five packed arrays: x[n] f32, y[n] f32, angle[n] u16, kind[n] u8,
                 quality[n] u8
    valid        ceil(n/8) bytes, bit i = cylinder i is valid (numpy packbits, little bit order)
    bits         n x (nd*ns*ns/8) bytes, cell bits in (k, i, j) order, little bit order
    mask         n x (ns*ns/8) bytes, spatial validity bits in (i, j) order, little bit order

No pickle; :func:`decode` checks every length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.fingerprint import cylinders as cyl
from padron.biometrics.fingerprint.errors import FingerprintTemplateError
from padron.biometrics.fingerprint.extract import Chain
from padron.biometrics.fingerprint.minutiae import Minutiae
from padron.biometrics.fingerprint.params import CylinderParameters
from padron.domain.template import Modality, Template

ALGORITHM = "padron-mcc"
TEMPLATE_VERSION = 1
PAYLOAD_MAGIC = b"PFM1"
PAYLOAD_LAYOUT = 1
_HEADER = struct.Struct("<4sBBHHBBfBH")
_CHAINS = {Chain.CLASSIC: 0, Chain.LEADER: 1}
_ANGLE_UNIT = 2 * np.pi / 65536


@dataclass(frozen=True, slots=True)
class FingerprintTemplate:
    """The in-memory template: minutiae, packed cylinders and where they came from."""

    chain: Chain
    width: int
    height: int
    minutiae: Minutiae
    valid: npt.NDArray[np.bool_]
    bits: npt.NDArray[np.uint8]  # (n, bits/8) packed
    mask: npt.NDArray[np.uint8]  # (n, spatial/8) packed
    params: CylinderParameters
    nfiq2: int | None = None

    @property
    def cylinder_count(self) -> int:
        return int(self.valid.sum())


def create(
    minutiae: Minutiae,
    shape: tuple[int, int],
    chain: Chain,
    nfiq2: int | None = None,
    params: CylinderParameters | None = None,
) -> FingerprintTemplate:
    """Build the cylinders of ``minutiae`` found in an image of ``shape`` (height, width)."""
    p = params or CylinderParameters()
    # round angles to the stored resolution first so that a decoded template is identical
    stored = Minutiae(
        x=minutiae.x.astype(np.float32),
        y=minutiae.y.astype(np.float32),
        angle=(np.rint(minutiae.angle / _ANGLE_UNIT).astype(np.int64) % 65536 * _ANGLE_UNIT).astype(
            np.float32
        ),
        kind=minutiae.kind,
        quality=minutiae.quality,
    )
    c = cyl.build(stored, shape, p)
    return FingerprintTemplate(
        chain=chain,
        width=int(shape[1]),
        height=int(shape[0]),
        minutiae=stored,
        valid=c.valid,
        bits=np.packbits(c.bits, axis=1, bitorder="little"),
        mask=np.packbits(c.mask, axis=1, bitorder="little"),
        params=p,
        nfiq2=nfiq2,
    )


def angle_codes(angle: npt.NDArray[np.floating]) -> npt.NDArray[np.uint16]:
    """Minutia angles (radians) as the stored 16-bit codes (2*pi/65536 units)."""
    out: npt.NDArray[np.uint16] = (
        np.rint(np.asarray(angle).astype(np.float64) / _ANGLE_UNIT).astype(np.int64) % 65536
    ).astype("<u2")
    return out


def code_angles(codes: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """The angles of 16-bit codes, exactly as :func:`decode` gives them (float32 radians)."""
    out: npt.NDArray[np.float32] = (np.asarray(codes).astype(np.float64) * _ANGLE_UNIT).astype(np.float32)
    return out


def encode(t: FingerprintTemplate) -> bytes:
    m = t.minutiae
    n = len(m)
    header = _HEADER.pack(
        PAYLOAD_MAGIC,
        PAYLOAD_LAYOUT,
        _CHAINS[t.chain],
        t.width,
        t.height,
        t.params.spatial_cells,
        t.params.directional_cells,
        t.params.radius,
        255 if t.nfiq2 is None else t.nfiq2,
        n,
    )
    angle = angle_codes(m.angle)
    parts = [
        header,
        m.x.astype("<f4").tobytes(),
        m.y.astype("<f4").tobytes(),
        angle.tobytes(),
        m.kind.astype(np.uint8).tobytes(),
        m.quality.astype(np.uint8).tobytes(),
        np.packbits(t.valid, bitorder="little").tobytes(),
        np.ascontiguousarray(t.bits).tobytes(),
        np.ascontiguousarray(t.mask).tobytes(),
    ]
    return b"".join(parts)


def decode(payload: bytes, params: CylinderParameters | None = None) -> FingerprintTemplate:
    try:
        magic, layout, chain_code, width, height, ns, nd, radius, nfiq2, n = _HEADER.unpack_from(payload, 0)
    except struct.error:
        raise FingerprintTemplateError("fingerprint template payload is truncated (header)") from None
    if magic != PAYLOAD_MAGIC or layout != PAYLOAD_LAYOUT:
        raise FingerprintTemplateError(
            f"not a padron fingerprint payload of layout {PAYLOAD_LAYOUT} (magic {magic!r}, layout {layout})"
        )
    chains = {v: k for k, v in _CHAINS.items()}
    if chain_code not in chains:
        raise FingerprintTemplateError(f"unknown extraction chain code {chain_code}")
    p = params or CylinderParameters()
    if (ns, nd) != (p.spatial_cells, p.directional_cells) or abs(radius - p.radius) > 1e-3:
        raise FingerprintTemplateError(
            f"template cylinders are {ns}x{ns}x{nd} R={radius:g}, matcher expects "
            f"{p.spatial_cells}x{p.spatial_cells}x{p.directional_cells} R={p.radius:g}"
        )
    bit_bytes, mask_bytes = p.bits // 8, p.spatial_bits // 8
    valid_bytes = (n + 7) // 8
    expected = _HEADER.size + n * (4 + 4 + 2 + 1 + 1) + valid_bytes + n * (bit_bytes + mask_bytes)
    if len(payload) != expected:
        raise FingerprintTemplateError(
            f"fingerprint payload is {len(payload)} bytes, its header implies {expected}",
            expected=expected,
            actual=len(payload),
        )
    o = _HEADER.size

    def take(dtype: str, count: int) -> npt.NDArray[np.generic]:
        nonlocal o
        arr = np.frombuffer(payload, dtype=dtype, count=count, offset=o)
        o += arr.nbytes
        return arr

    x = take("<f4", n).astype(np.float32)
    y = take("<f4", n).astype(np.float32)
    angle = code_angles(take("<u2", n))
    kind = take("u1", n).astype(np.uint8)
    quality = take("u1", n).astype(np.uint8)
    valid = np.unpackbits(take("u1", valid_bytes).astype(np.uint8), bitorder="little")[:n].astype(bool)
    bits = take("u1", n * bit_bytes).astype(np.uint8).reshape(n, bit_bytes)
    mask = take("u1", n * mask_bytes).astype(np.uint8).reshape(n, mask_bytes)
    return FingerprintTemplate(
        chain=chains[chain_code],
        width=width,
        height=height,
        minutiae=Minutiae(x=x, y=y, angle=angle, kind=kind, quality=quality),
        valid=valid,
        bits=bits,
        mask=mask,
        params=p,
        nfiq2=None if nfiq2 == 255 else int(nfiq2),
    )


def to_envelope(t: FingerprintTemplate) -> Template:
    return Template(
        modality=Modality.FINGERPRINT,
        algorithm=ALGORITHM,
        version=TEMPLATE_VERSION,
        payload=encode(t),
        quality=None if t.nfiq2 is None else float(t.nfiq2),
    )


def from_envelope(envelope: Template, params: CylinderParameters | None = None) -> FingerprintTemplate:
    envelope.require(Modality.FINGERPRINT, ALGORITHM, TEMPLATE_VERSION)
    return decode(envelope.payload, params)
