"""What the gallery sends for a picture: made on the server from the scan's thumbnail, blurred
and greyscale unless a person revealed that one item. No unblurred pixel is produced here
without `revealed=True`, and only the reveal view passes it."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

THUMB_SIDE = 256


@dataclass(frozen=True)
class Picture:
    data: bytes
    content_type: str


_READERS: OrderedDict[str, Any] = OrderedDict()
_READERS_LOCK = threading.Lock()
_KEEP_OPEN = 16  # scans whose thumbnail store stays open (a reviewer works on a few at once)


def _reader(scan_dir: str) -> Any:
    from fellwatch.store.thumbnails import ThumbnailReader

    with _READERS_LOCK:
        reader = _READERS.get(scan_dir)
        if reader is not None:
            _READERS.move_to_end(scan_dir)
            return reader
        reader = ThumbnailReader(Path(scan_dir))
        _READERS[scan_dir] = reader
        while len(_READERS) > _KEEP_OPEN:
            _READERS.popitem(last=False)[1].close()
        return reader


def _thumbnail(finding: Any) -> Any:
    """The scan's thumbnail (picture or video frame strip) of the finding, or None."""
    reader = _reader(finding.scan.out_dir)
    with _READERS_LOCK:  # one connection, shared by the server's threads: one at a time
        return reader.get(finding.evidence_index, finding.key)


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
    # The radius is of a 256 px picture; a smaller one is blurred as much relative to its size
    # (a video strip's frames are at least as small, so they are blurred at least as much).
    scale = max(min(max(img.size), THUMB_SIDE) / THUMB_SIDE, 0.25)
    # Down, blur, up: the look of a large blur at a fraction of its cost.
    small = img.resize((max(1, img.width // 4), max(1, img.height // 4)),
                       Image.Resampling.BOX)
    small = small.filter(ImageFilter.GaussianBlur(max(1.0, radius * scale / 4)))
    return small.resize(img.size, Image.Resampling.BICUBIC)


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
