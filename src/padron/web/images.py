"""Images for the console, drawn on the server: a submitted sample as PNG (a browser shows no
TIFF), scaled down, with a finger's minutiae drawn over it; and quality thumbnails."""

from __future__ import annotations

import io
import math
from typing import Final

from padron.registry.adjudication import CaseMinutiae

#: the longest side of an image shown side by side
SHOWN_SIDE: Final = 420
#: the longest side of a quality thumbnail
THUMBNAIL_SIDE: Final = 120
#: the length of a minutia's direction mark, in pixels of the template's image
TAIL: Final = 12.0


def as_png(data: bytes, *, minutiae: CaseMinutiae | None = None, side: int = SHOWN_SIDE) -> bytes:
    """``data`` (any image the registry accepted) as an RGB PNG at most ``side`` pixels long,
    with ``minutiae`` (circles and direction marks) drawn over it."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(data)) as opened:
        opened.seek(0)
        image = opened.convert("RGB")
    if minutiae is not None and minutiae.points:
        draw = ImageDraw.Draw(image)
        sx = image.width / max(1, minutiae.width)
        sy = image.height / max(1, minutiae.height)
        r = max(3.0, 4.0 * sx)
        for x, y, angle in minutiae.points:
            cx, cy = x * sx, y * sy
            # the angle is counter-clockwise from the x axis with y pointing down (ISO 19794-2)
            tx, ty = cx + TAIL * sx * math.cos(angle), cy - TAIL * sy * math.sin(angle)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 40, 40), width=2)
            draw.line((cx, cy, tx, ty), fill=(255, 220, 0), width=2)
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def thumbnail_data_uri(data: bytes) -> str | None:
    """A small PNG of ``data`` as a data: URI (None when it is not an image Pillow reads)."""
    import base64

    try:
        png = as_png(data, side=THUMBNAIL_SIDE)
    except Exception:  # not an image (e.g. a test's synthetic sample): no thumbnail
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
