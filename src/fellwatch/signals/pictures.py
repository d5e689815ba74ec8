"""Decoding pictures for perceptual hashing: every still format, oriented, small and fast.

PDQ's filter runs on every pixel it is given, so a 12 MP photo costs ~20× a 768-px one for
the same 64×64 result. Pictures whose long side is above `MAX_SIDE` are shrunk before hashing:
JPEG decodes straight to a smaller size in the DCT (Pillow's draft mode, 1/2, 1/4 or 1/8
scale, never below the size asked for), and `to_grid` then resamples the picture onto PDQ's
*dihedral grid*.

The dihedral grid: PDQ blurs with box filters of a width that depends on the side's length and
then samples 64 points per side. For most sizes that filter and sampling are not centred (an
even box width, or sample points a fraction of a pixel off the middle), so the hash of a
mirrored picture is not the mirror of the hash, and the turned and mirrored variants that PDQ
derives from one pass (`compute_dihedral`) drift 10–20 bits from the hashes of the actually
turned pictures. At sides of 64·k pixels with k = 1, 5, 9, 13, … (k ≡ 1 mod 4) the box widths
are odd and the sample points centred, so every step is symmetric and the eight variants are
exact: a mirrored or turned copy gives the known picture's hash bit for bit (a test checks
it). `grid_size` picks the nearest such side for each axis; PDQ squashes every picture to
64×64 anyway, so the small change of proportions costs nothing. `bench/pdq_speed.py` measures
the drift from the full-resolution hash: mean 5.6 bits on 3 MP JPEGs, 2.7 on 12 MP (the plain
768-px area resize it replaced drifted 7.1 and 8.0).

Pictures up to `MAX_SIDE` are hashed as they are (their `hash` is PDQ's own, bit for bit),
and their variants come from a second, small pass on the grid, at most `VARIANT_GRID_SIDE`
long (see `signals/pdq.py`).

Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`) stays on, and a tighter one of
ours, `MAX_DECODED_PIXELS`, is checked on the size that would be decoded (after JPEG's DCT
scaling) before any pixel is: a picture past it raises `PictureError` ("not decoded: …").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 768  # pictures up to this long side are hashed as they are
GRID_SIDE = 576  # larger ones are resampled onto the dihedral grid with about this long side
# Small pictures' variants come from a grid pass at most this long: as good as the nearest grid
# size on the robustness pictures (40/44 mirrored copies found either way) and ~1.3x faster.
VARIANT_GRID_SIDE = 320
_GRID_STEP = 256  # grid sides are 64 + 256 j: 64·k with k = 1, 5, 9, …
_ORIENTATION = 0x0112  # EXIF tag

_heif_registered = False


class PictureError(Exception):
    """A picture cannot be decoded (malformed, truncated, too large); one-line reason."""


# At most this many pixels are decoded for one picture (RGB: 3 bytes each, so about 120 MB
# with the copies conversion makes; Pillow's own bomb limit, 2 x 89 M pixels, lets through a
# picture that takes well over 1 GiB). Cameras' 50 MP JPEGs decode at 1/2-1/8 scale (draft),
# far below it; a larger PNG, TIFF or BMP is recorded as not decoded.
MAX_DECODED_PIXELS = 40_000_000


# Decoders allocate what the header declares before they read any pixel data, so a tiny file
# may cost as much as a large one: an 82-byte WebP declaring 6 000 x 6 000 takes ~57 ms to
# fail, and an archive of 50 000 of them would take 47 minutes. Past FREE_DECODED_PIXELS, a
# picture may declare at most MAX_PIXELS_PER_BYTE pixels a byte of its file. Real pictures
# declare far fewer (photos 1-10; flat screenshots and graphics up to ~3 000: a 6 000 x 6 000
# lossless gradient WebP 2 838); what lies past it is uniform, with no detail for PDQ to hash
# (quality 0), or crafted. The carver's test decodes have a budget of their own per range
# (carving/base.py).
FREE_DECODED_PIXELS = 4_000_000
MAX_PIXELS_PER_BYTE = 4096


def check_decoded_pixels(width: int, height: int, file_bytes: int | None = None) -> None:
    """Raise PictureError when decoding width x height pixels would pass MAX_DECODED_PIXELS,
    or (given the file's size) when the file is too small to hold that many pixels."""
    pixels = width * height
    if pixels > MAX_DECODED_PIXELS:
        raise PictureError(
            f"not decoded: {width} x {height} pixels ({pixels / 1e6:.0f} M) is more "
            f"than the {MAX_DECODED_PIXELS / 1e6:.0f} M pixels one picture may decode to"
        )
    if (file_bytes is not None and pixels > FREE_DECODED_PIXELS
            and pixels > MAX_PIXELS_PER_BYTE * file_bytes):
        raise PictureError(
            f"not decoded: {width} x {height} pixels ({pixels / 1e6:.1f} M) declared by "
            f"{file_bytes} bytes, more than {MAX_PIXELS_PER_BYTE} pixels a byte (crafted, or "
            "uniform with nothing to hash)"
        )


def remaining_bytes(content: BinaryIO) -> int | None:
    """The bytes from the stream's position to its end, the position kept; None if unknown."""
    try:
        if not content.seekable():
            return None
        here = content.tell()
        end = content.seek(0, 2)
        content.seek(here)
    except (OSError, ValueError):
        return None
    return end - here


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


@dataclass(frozen=True, slots=True)
class Picture:
    """A decoded, oriented picture as RGB pixels, and the size it has before any shrinking."""

    pixels: np.ndarray  # uint8 [h, w, 3], C-contiguous
    width: int  # oriented size of the picture as stored
    height: int
    format: str | None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greys: scale to 8 bits by their own range, as a viewer would.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    # Alpha is dropped, not composited: the colour under a transparent pixel is what was
    # drawn, and other PDQ tools read it the same way.
    return img.convert("RGB")


def _grid_side(length: float) -> int:
    """The dihedral-grid side nearest `length` (ties to the larger), at least 64."""
    j = max(0.0, (length - 64) / _GRID_STEP)
    low = 64 + _GRID_STEP * int(j)
    return low + _GRID_STEP if length - low >= low + _GRID_STEP - length else low


def grid_size(width: int, height: int, long_side: int | None = GRID_SIDE) -> tuple[int, int]:
    """The dihedral-grid size for a picture: scaled down so its long side is at most
    `long_side` (None: not scaled), then each side to the nearest 64·k with k ≡ 1 (mod 4)."""
    scale = 1.0 if long_side is None else min(1.0, long_side / max(width, height))
    return _grid_side(width * scale), _grid_side(height * scale)


def to_grid(pixels: np.ndarray, long_side: int | None = GRID_SIDE) -> np.ndarray:
    """RGB pixels resampled onto the dihedral grid: area averaging when both sides shrink
    (the fast path; 1.5x faster than bilinear, same drift), bilinear when a side grows."""
    h, w = pixels.shape[:2]
    size = grid_size(w, h, long_side)
    if size == (w, h):
        return pixels
    shrink = size[0] <= w and size[1] <= h
    img = Image.fromarray(pixels).resize(
        size, Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def decode_picture(content: BinaryIO, max_side: int | None = MAX_SIDE) -> Picture:
    """Decode the first frame of a picture, apply its EXIF orientation, as RGB. A JPEG whose
    long side is above `max_side` is decoded at the smallest DCT scale that still covers its
    dihedral grid (`grid_size`); nothing else is resized here. None: full resolution.
    Raises PictureError."""
    _register_heif()
    file_bytes = remaining_bytes(content)
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own limit (89 M pixels); ours is tighter and is checked
            # below, before anything is decoded, so its warning says nothing more.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(content)
        img.seek(0)  # GIF, APNG, WebP, TIFF, HEIF: the first frame (or primary image)
        width, height = img.size
        fmt = img.format
        if max_side is not None and fmt == "JPEG" and max(width, height) > max_side:
            # DCT scaling: Pillow picks the smallest 1/2^k scale that keeps both sides at or
            # above the request. `grid_size` treats both sides alike, so the stored (not yet
            # oriented) size gives the same request as the oriented one, turned.
            img.draft("RGB", grid_size(width, height))
        # Bound what decoding may allocate before any pixel is decoded: the size read from
        # the header (after the DCT scaling above, for JPEG) is what load() would allocate,
        # whatever the file's own size (a 146-byte TIFF can declare 170 M pixels).
        check_decoded_pixels(*img.size, file_bytes)
        orientation = img.getexif().get(_ORIENTATION, 1)
        # Orientations 5-8 turn the picture a quarter: the oriented size swaps its sides.
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if orientation in (2, 3, 4, 5, 6, 7, 8):  # 1 (or none) is upright: spare the copy
            img = ImageOps.exif_transpose(img) or img
        img = _to_rgb(img)
        pixels = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    except Image.DecompressionBombError as exc:
        raise PictureError(f"decompression bomb refused: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise PictureError("not a picture Pillow can read (unknown or malformed header)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PictureError(f"truncated or malformed picture: {exc}") from exc
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise PictureError(f"picture decoded to an unusable shape {pixels.shape}")
    return Picture(pixels=pixels, width=width, height=height, format=fmt)


def trim_uniform_border(
    pixels: np.ndarray, tolerance: int = 24, coverage: float = 0.97, min_trim: int = 2
) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) inside a flat border, or None when there is none.

    Each side is trimmed on its own (a caption bar may be white at the bottom while the frame
    is black elsewhere): the side's colour is the median of its outermost line, and a line
    belongs to the border while `coverage` of its pixels are within `tolerance` of that colour
    in every channel (JPEG ringing and noise stay inside that). Returns None when less than
    `min_trim` pixels would go on every side, or when too little picture would remain.
    """
    h, w = pixels.shape[:2]
    if h < 16 or w < 16:
        return None
    def depth(lines: np.ndarray) -> int:
        # lines: [n_lines, line_len, 3] (a view), outermost first. Most pictures have no
        # border, so the outermost line alone usually settles it; then chunks of 16 lines.
        ref = np.median(lines[0], axis=0)
        limit = lines.shape[0] // 2
        done = 0
        step = 1
        while done < limit:
            block = lines[done : min(done + step, limit)].astype(np.int16)
            close = (np.abs(block - ref).max(axis=2) <= tolerance).mean(axis=1) >= coverage
            flat = np.flatnonzero(~close)
            if flat.size:
                return done + int(flat[0])
            done += block.shape[0]
            step = 16
        return done

    top = depth(pixels)
    bottom = depth(pixels[::-1])
    left = depth(pixels.transpose(1, 0, 2))
    right = depth(pixels.transpose(1, 0, 2)[::-1])
    if max(top, bottom, left, right) < min_trim:
        return None
    box = (left, top, w - right, h - bottom)
    # A flat picture is all border; a sliver left over is not a picture either.
    if box[2] - box[0] < max(16, w // 8) or box[3] - box[1] < max(16, h // 8):
        return None
    return box
