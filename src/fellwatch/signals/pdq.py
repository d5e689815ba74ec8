"""PDQ, Meta's perceptual hash, for every still picture, with its dihedral variants and a
border-trimmed hash.

The result of one picture::

    {"hash": "<64 hex>", "quality": 0..100, "width": w, "height": h,
     "variants": {"rot90": "<hex>", …, "transverse": "<hex>"},
     "trimmed": {"hash": …, "quality": …, "box": [l, t, r, b], "variants": {…}}}   # if a border

`hash` is the picture as it is. `variants` are the hashes of the same picture turned and
mirrored, from one filter pass of `pdqhash.compute_dihedral` on the picture resampled onto
PDQ's dihedral grid (`signals/pictures.py`), where they are exact: a mirrored or turned copy
gives back the hash the grid gives the picture itself. A picture larger than `MAX_SIDE` is
hashed on the grid only (one pass: `hash` and variants). A smaller one keeps PDQ's own hash of
its pixels as `hash` (bit for bit what other PDQ tools compute) and takes its variants from a
second pass on the grid; PDQ's variants of the pixels as they are drift 10–20 bits from the
hashes of turned and mirrored copies at these sizes. Each variant is named by how the found
copy relates to the original it matches (angles clockwise):

=============  ==========================================================================
variant        a match means the found picture is the known picture …
=============  ==========================================================================
original       as it is
rot90          turned 90° clockwise
rot180         turned 180°
rot270         turned 270° clockwise (90° anticlockwise)
flip-lr        mirrored left-right (the usual "horizontal mirror")
flip-tb        mirrored top-bottom
transpose      mirrored about the diagonal from top-left to bottom-right
transverse     mirrored about the diagonal from top-right to bottom-left
=============  ==========================================================================

`trimmed` is present when the picture has a flat border (black, white, any even colour, with
JPEG noise) on at least one side: the inside is hashed the same way, and its matches are named
`trimmed`, `trimmed+rot90`, … The hex form is Meta's (`Hash256::format`, most significant
16-bit word first), so lists made by Meta's tools and ThreatExchange compare bit for bit.

Quality below 50 means the picture has too little structure for PDQ to be trusted (flat
colours, tiny gradients): the hash is kept on the record but the matcher does not match on it.
"""

from __future__ import annotations

from typing import Any, BinaryIO, ClassVar

import numpy as np
import pdqhash

from fellwatch.signals.base import register
from fellwatch.signals.pictures import (
    MAX_SIDE,
    VARIANT_GRID_SIDE,
    Picture,
    PictureError,
    decode_picture,
    to_grid,
    trim_uniform_border,
)

# The order pdqhash.compute_dihedral returns (Meta's pdqDihedralHash256esFromFloatLuma):
# original, rotate90, rotate180, rotate270, flipX, flipY, flipPlus1, flipMinus1. Meta's
# rotate90 hashes the picture turned 90° anticlockwise, so it matches a copy that was turned
# clockwise; flipX is top-bottom and flipY left-right (checked in tests/signals/test_pdq.py).
DIHEDRAL_NAMES: tuple[str, ...] = (
    "original",
    "rot90",
    "rot180",
    "rot270",
    "flip-tb",
    "flip-lr",
    "transpose",
    "transverse",
)
TRIMMED_PREFIX = "trimmed"

__all__ = ["DIHEDRAL_NAMES", "PdqSignal", "PictureError", "bits_to_hex", "hash_picture"]


def bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash's 256-bit vector (most significant bit first) as Meta's 64-hex-digit form."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hash_pixels(pixels: np.ndarray) -> tuple[dict[str, str], int]:
    """The eight dihedral PDQ hashes (hex, by variant name) of RGB pixels, and the quality."""
    hashes, quality = pdqhash.compute_dihedral(pixels)
    return {name: bits_to_hex(h) for name, h in zip(DIHEDRAL_NAMES, hashes, strict=True)}, int(
        quality
    )


def _entry(pixels: np.ndarray, grid: bool) -> dict[str, Any]:
    """`hash`, `quality` and `variants` of a picture's pixels. `grid`: hash on the dihedral
    grid only (a picture being shrunk anyway); otherwise PDQ's hash of the pixels as they are,
    with the variants of a second pass on the grid, at most `VARIANT_GRID_SIDE` long."""
    if grid:
        hashes, quality = hash_pixels(to_grid(pixels))
    else:
        plain, quality = pdqhash.compute(pixels)
        hashes, _ = hash_pixels(to_grid(pixels, VARIANT_GRID_SIDE))
        hashes["original"] = bits_to_hex(plain)
    return _result(hashes, quality)


def _plain(pixels: np.ndarray) -> dict[str, Any]:
    """PDQ's own eight hashes of the pixels as they are (no grid): the full-resolution
    reference that `bench/pdq_speed.py` and the tests measure the fast path against."""
    return _result(*hash_pixels(pixels))


def _result(hashes: dict[str, str], quality: int) -> dict[str, Any]:
    original = hashes.pop("original")
    return {"hash": original, "quality": quality, "variants": hashes}


def hash_picture(
    content: BinaryIO, max_side: int | None = MAX_SIDE, trim: bool = True
) -> dict[str, Any]:
    """The PDQ result dict of one picture (see the module doc). `max_side`: pictures with a
    longer side are hashed on the grid only; None hashes every picture at full resolution
    with PDQ's own variants (the reference, no grid). Raises PictureError."""
    return hash_decoded(decode_picture(content, max_side=max_side), max_side, trim)


def hash_decoded(picture: Picture, max_side: int | None = MAX_SIDE,
                 trim: bool = True) -> dict[str, Any]:
    """`hash_picture` of a picture already decoded by `decode_picture(…, max_side)`."""
    shrunk = max_side is not None and max(picture.width, picture.height) > max_side

    def entry(pixels: np.ndarray) -> dict[str, Any]:
        return _plain(pixels) if max_side is None else _entry(pixels, grid=shrunk)

    result = entry(picture.pixels)
    result["width"] = picture.width
    result["height"] = picture.height
    if trim:
        box = trim_uniform_border(picture.pixels)
        if box is not None:
            left, top, right, bottom = box
            trimmed = entry(np.ascontiguousarray(picture.pixels[top:bottom, left:right]))
            # The box in the picture's own (oriented, full-size) pixels, for the examiner; a
            # JPEG may have been decoded at a smaller scale.
            sx = picture.width / picture.pixels.shape[1]
            sy = picture.height / picture.pixels.shape[0]
            trimmed["box"] = [round(left * sx), round(top * sy), round(right * sx),
                              round(bottom * sy)]
            result["trimmed"] = trimmed
    return result


def variant_hashes(result: dict[str, Any]) -> list[tuple[str, str, int]]:
    """Every (variant name, hex hash, quality) a PDQ result holds, original first."""
    out: list[tuple[str, str, int]] = []
    for prefix, entry in (("", result), (TRIMMED_PREFIX, result.get("trimmed"))):
        if not entry:
            continue
        quality = int(entry["quality"])
        out.append((prefix or "original", entry["hash"], quality))
        for name in DIHEDRAL_NAMES[1:]:
            hx = entry.get("variants", {}).get(name)
            if hx is not None:
                out.append((f"{prefix}+{name}" if prefix else name, hx, quality))
    return out


class PdqSignal:
    """The `pdq` content signal: applies to every `image/*` content type."""

    name: ClassVar[str] = "pdq"
    head_only: ClassVar[bool] = False

    def __init__(self, max_side: int | None = MAX_SIDE, trim: bool = True) -> None:
        self.max_side = max_side
        self.trim = trim

    def applies_to(self, content_type: str) -> bool:
        return content_type.startswith("image/")

    def compute(self, content: BinaryIO, content_type: str) -> dict[str, Any] | None:
        return hash_picture(content, max_side=self.max_side, trim=self.trim)

    def compute_with_pixels(
        self, content: BinaryIO, content_type: str
    ) -> tuple[dict[str, Any] | None, np.ndarray]:
        """`compute`, and the decoded, oriented pixels it hashed (the scan's thumbnail is
        made from them instead of decoding the picture a second time)."""
        picture = decode_picture(content, max_side=self.max_side)
        return hash_decoded(picture, self.max_side, self.trim), picture.pixels


register(PdqSignal())
