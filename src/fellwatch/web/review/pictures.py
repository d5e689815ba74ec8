"""What the gallery sends for a picture: made on the server from the scan's thumbnail, blurred
and greyscale unless a person revealed that one item. No unblurred pixel is produced here
without `revealed=True`, and only the reveal view passes it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

THUMB_SIDE = 256


@dataclass(frozen=True)
class Picture:
    data: bytes
    content_type: str


def _thumbnail(finding: Any) -> Any:
    """The scan's thumbnail (picture or video frame strip) of the finding, or None."""
    from fellwatch.store.thumbnails import read_thumbnail

    return read_thumbnail(Path(finding.scan.out_dir), finding.evidence_path, finding.key)


def placeholder(text: str) -> Picture:
    """A plain tile saying why there is no picture (nothing of the evidence in it)."""
    img = Image.new("L", (THUMB_SIDE, THUMB_SIDE), 200)
    ImageDraw.Draw(img).text((12, THUMB_SIDE // 2 - 6), text[:36], fill=60)
    return _jpeg(img)


def _jpeg(img: Image.Image, quality: int = 75) -> Picture:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)  # re-encoded: no metadata of the original
    return Picture(out.getvalue(), "image/jpeg")


def blurred(data: bytes, radius: int) -> Image.Image:
    """Greyscale, at most 256 px, then a Gaussian blur of `radius` px (scaled to the size, so
    that a small strip frame is as unreadable as a full thumbnail)."""
    with Image.open(io.BytesIO(data)) as src:
        img = src.convert("L")
    img.thumbnail((THUMB_SIDE * 4, THUMB_SIDE), Image.Resampling.BILINEAR)
    scale = max(min(img.size) / THUMB_SIDE, 0.25)
    # Down, blur, up: the look of a large blur at a fraction of its cost.
    small = img.resize((max(1, img.width // 4), max(1, img.height // 4)),
                       Image.Resampling.BILINEAR)
    small = small.filter(ImageFilter.GaussianBlur(max(1.0, radius * scale / 4)))
    return small.resize(img.size, Image.Resampling.BILINEAR)


def picture_of(finding: Any, *, radius: int, revealed: bool = False) -> Picture:
    try:
        thumb = _thumbnail(finding)
    except Exception as exc:  # a broken thumbnail store is this tile's problem only
        return placeholder(f"no thumbnail: {type(exc).__name__}")
    if thumb is None:
        return placeholder("no thumbnail")
    try:
        if revealed:
            with Image.open(io.BytesIO(thumb.data)) as src:
                return _jpeg(src.convert("RGB"), quality=85)
        return _jpeg(blurred(thumb.data, radius))
    except (OSError, ValueError, Image.DecompressionBombError):
        return placeholder("thumbnail cannot be decoded")


def original_of(finding: Any) -> bytes:
    """The item's bytes read again from the evidence (only on a person's explicit request)."""
    from fellwatch.scan.originals import read_original

    return read_original(finding.evidence_path, finding.record)
