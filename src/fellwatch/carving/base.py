"""The contract of a carver (one per format) and the registry that holds them.

A carver is told "a signature of yours starts here" and answers with the length of the whole
object, found by walking the format's own structure (JPEG markers, PNG chunks, MP4 boxes, RIFF
chunks). It never guesses a length from a footer alone: a footer search stops a JPEG at its
EXIF thumbnail's EOI and glues a fragment to whatever follows it.

Outcomes of one candidate:
- `NotACandidate`: the bytes only look like a signature (e.g. "BM" in random data); nothing is
  reported.
- `CarvedFragmentError`: the header is valid but the structure breaks before the end (the file
  was fragmented, overwritten or truncated). The scanner reports it as an Item with an error
  that starts "fragment:", never as a complete picture.
- a length: the structure is complete (and, for pictures, Pillow decodes it).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import ClassVar, Protocol

from fellwatch.registry import Registry
from fellwatch.signals.pictures import MAX_PIXELS_PER_BYTE

MiB = 1 << 20
# A carved picture larger than this (decoded) is not test-decoded (memory stays bounded).
MAX_VERIFY_PIXELS = 40_000_000
# Test-decoding costs the pixels a picture declares, which its bytes need not back: an 82-byte
# lossless WebP may declare 6 000 x 6 000 (libwebp allocates 144 MB, then fails: ~57 ms), and
# free space can hold thousands of them (256 KiB of them took 183 s). Real pictures declare far
# fewer pixels a byte (the bound one picture is held to, signals.pictures), so the candidates
# of one range may decode DECODE_PIXELS_FREE plus that many pixels for every byte from
# the range's first candidate to the end of the current one; past that, a candidate is a
# fragment that says why (its offset and length stay in the findings). Over a range, not per
# candidate: candidates may overlap, each claiming the rest of the space.
DECODE_PIXELS_FREE = 256_000_000
DECODE_PIXELS_PER_BYTE = MAX_PIXELS_PER_BYTE


class NotACandidate(Exception):
    """The signature matched but the header is not a plausible start of this format."""


class CarvedFragmentError(Exception):
    """A valid header whose structure breaks before the end: not a complete file.

    `examined` is how many bytes from the start belong to the candidate as far as the walk got;
    it is what the scanner reports as the fragment's size.
    """

    def __init__(self, reason: str, examined: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.examined = examined


class Source(Protocol):
    """Bytes of one carving range, addressed by absolute offset in the evidence.

    `read` returns fewer bytes than asked at the end of the range (never bytes beyond it).
    """

    @property
    def end(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Signature:
    """`magic` occurs `at` bytes after the object's first byte (e.g. MP4's "ftyp" at 4)."""

    magic: bytes
    at: int = 0


class Carver(Protocol):
    name: ClassVar[str]  # e.g. "jpeg"
    extension: ClassVar[str]  # e.g. "jpg"
    content_type: ClassVar[str]  # e.g. "image/jpeg"
    kind: ClassVar[str]  # "picture" | "video"
    signatures: ClassVar[tuple[Signature, ...]]
    default_max_size: ClassVar[int]

    def carve(self, source: Source, start: int, max_size: int) -> int:
        """The length of the complete object starting at `start`.

        Raises NotACandidate when the header is not plausible and CarvedFragmentError when the
        header is valid but the object is not complete within `max_size` and the range.
        """
        ...


CARVERS: Registry[Carver] = Registry("carver")


def register(carver: Carver) -> Carver:
    """Add a carver; a duplicate name is a programming error, refused like dfVFS does."""
    return CARVERS.register(carver)


def registered() -> dict[str, Carver]:
    return {carver.name: carver for carver in CARVERS}


def need(source: Source, offset: int, length: int, start: int, what: str) -> bytes:
    """Exactly `length` bytes at `offset`, or a fragment error naming what was cut short."""
    data = source.read(offset, length)
    if len(data) != length:
        raise CarvedFragmentError(f"{what} cut short by the end of the range", offset - start)
    return data


def verify_picture(source: Source, start: int, length: int, fmt: str) -> None:
    """Decode the carved bytes with Pillow: a structure that walks but does not decode is a
    fragment (e.g. PNG IDAT data that inflates wrong, a truncated GIF frame)."""
    import io
    import warnings

    from PIL import Image

    data = source.read(start, length)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=(fmt,)) as picture:
                if fmt == "JPEG":
                    # DCT scaling to 1/8: every Huffman code is still decoded (what shows a
                    # break), the inverse DCT mostly skipped; about twice as fast.
                    picture.draft(picture.mode, (max(1, picture.width // 8),
                                                 max(1, picture.height // 8)))
                pixels = picture.width * picture.height  # after JPEG's draft: what is decoded
                if pixels > MAX_VERIFY_PIXELS:
                    # Its structure walked (PNG: every CRC checked); decoding it would take
                    # more memory than one candidate may. The item's own signals bound it again.
                    return
                _spend_decode_budget(source, start, length, pixels)
                picture.load()
    except CarvedFragmentError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt data; all mean "broken"
        raise CarvedFragmentError(f"does not decode: {exc}", length) from exc


# Per range (its Source): the first candidate's offset and the pixels decoded so far.
_DECODED: weakref.WeakKeyDictionary[Source, list[int]] = weakref.WeakKeyDictionary()


def _spend_decode_budget(source: Source, start: int, length: int, pixels: int) -> None:
    try:
        spent = _DECODED.setdefault(source, [start, 0])
    except TypeError:  # a source that takes no weak reference (tests' plain objects): no budget
        return
    budget = DECODE_PIXELS_FREE + DECODE_PIXELS_PER_BYTE * (start + length - spent[0])
    if spent[1] + pixels > budget:
        raise CarvedFragmentError(
            f"not decoded: declares {pixels / 1e6:.1f} M pixels in {length} bytes and this "
            f"range's candidates have decoded {spent[1] / 1e6:.0f} M pixels, the most "
            f"{DECODE_PIXELS_PER_BYTE} a byte allows (crafted or corrupt pictures)", length)
    spent[1] += pixels
