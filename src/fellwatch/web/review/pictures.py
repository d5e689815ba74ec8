"""What the gallery sends for a picture: made on the server from the scan's thumbnail, blurred
and greyscale unless a person revealed that one item. No unblurred pixel is produced here
without `revealed=True`, and only the reveal view passes it."""

from __future__ import annotations

import io
import textwrap
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


def _thumbnail(finding: Any) -> tuple[Any, str | None]:
    """The scan's thumbnail (picture or video frame strip) of the finding, or None and why
    (the scan's reason when making it failed, else None)."""
    reader = _reader(finding.scan.out_dir)
    with _READERS_LOCK:  # one connection, shared by the server's threads: one at a time
        thumb = reader.get(finding.evidence_index, finding.key)
        if thumb is not None:
            return thumb, None
        return None, reader.failure(finding.evidence_index, finding.key)


ERROR_CHARS = 160  # an item's error on a tile: its gist, not a traceback


def item_error(error: str | None) -> str:
    """The item's own error as a tile shows it: on one line, at most ERROR_CHARS long."""
    text = " ".join((error or "").split())
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1].rstrip() + "…"


def thumbnail_failures(out_dir: str, evidence: int, keys: list[str],
                       errors: dict[str, str] | None = None) -> dict[str, str]:
    """Key -> why the scan has no thumbnail of it, for those of `keys` that have none and a
    reason (a gallery page's tiles of one scan and evidence: one query, two when some items
    have an error).

    The reason is the scan's own when making the thumbnail failed; else, for an item of
    `errors` (key -> the item's error) without a thumbnail, that error shortened: a picture
    PDQ itself could not decode has an error and no thumbnail (none was made), and "no
    thumbnail" alone did not say why."""
    errors = errors or {}
    reader = _reader(out_dir)
    with _READERS_LOCK:
        failures: dict[str, str] = reader.failures(evidence, keys)
        erred = [k for k in keys if errors.get(k) and k not in failures]
        made = reader.present(evidence, erred) if erred else set()
    failures.update({k: item_error(errors[k]) for k in erred if k not in made})
    return failures


def thumbnail_failure(finding: Any) -> str:
    """Why the finding has no thumbnail ("" when it has one, or none was to be made, or the
    scan folder cannot be read: the picture then says so itself)."""
    errors = {finding.key: finding.error} if finding.error else None
    try:
        return thumbnail_failures(finding.scan.out_dir, finding.evidence_index,
                                  [finding.key], errors).get(finding.key, "")
    except Exception:  # a missing scan folder: the picture says so itself
        return ""


def no_thumbnail(reason: str | None) -> str:
    """The words a tile shows for a finding without a thumbnail."""
    return f"no thumbnail: {reason}" if reason else "no thumbnail"


PLACEHOLDER_COLUMNS = 36  # characters of the default font across a 256 px tile
PLACEHOLDER_LINES = 8


def placeholder(text: str) -> Picture:
    """A plain tile saying why there is no picture (nothing of the evidence in it); a long
    reason is wrapped over a few lines rather than cut at the tile's edge."""
    lines = textwrap.wrap(text, PLACEHOLDER_COLUMNS)[:PLACEHOLDER_LINES] or [""]
    img = Image.new("L", (THUMB_SIDE, THUMB_SIDE), 200)
    draw = ImageDraw.Draw(img)
    top = THUMB_SIDE // 2 - 7 * len(lines)
    for i, line in enumerate(lines):
        draw.text((12, top + 14 * i), line, fill=60)
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
        thumb, failed = _thumbnail(finding)
    except Exception as exc:  # a broken thumbnail store is this tile's problem only
        return placeholder(no_thumbnail(type(exc).__name__))
    if thumb is None:
        # Revealed or not, only the words: the scan made no pixels for this item (the
        # original is still one audited request away).
        return placeholder(no_thumbnail(failed or item_error(finding.error)))
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
