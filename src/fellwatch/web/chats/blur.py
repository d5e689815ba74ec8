"""Attachment thumbnails, blurred on the server: no picture's own pixels reach the browser.

The picture is shrunk to a few pixels across and enlarged again with a wide blur, so only its
overall colours are left; a placeholder stands in for anything that cannot be read. Seeing the
picture itself goes through the review gallery's audited reveal, never through this page.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFilter

THUMB = 160
_FEW_PIXELS = 8
MAX_PICTURE_BYTES = 32 << 20


def placeholder() -> bytes:
    img = Image.new("RGB", (THUMB, THUMB), (200, 200, 200))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def blurred(data: bytes) -> bytes:
    """A blurred PNG thumbnail of the picture in `data`; ValueError when it is not one."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (THUMB, THUMB))  # JPEG: decode small, never the full picture
            small = img.convert("RGB").resize((_FEW_PIXELS, _FEW_PIXELS), Image.Resampling.BOX)
    except Exception as exc:  # any undecodable picture gets the placeholder
        raise ValueError(f"not a picture: {exc}") from exc
    out = small.resize((THUMB, THUMB), Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(12))
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return buf.getvalue()
