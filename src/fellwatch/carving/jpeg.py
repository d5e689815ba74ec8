"""JPEG: SOI, a walk over the marker segments, the entropy-coded scans, up to EOI.

Segment lengths are followed, so an EXIF thumbnail (a whole JPEG inside APP1, with its own
EOI) is stepped over and the picture is not cut short at the thumbnail's end. Inside scan data
only FF00 (stuffing), FF D0-D7 (restart) and FF FF (fill) may occur; any other marker ends the
scan. A marker that is not valid there, or a run of one repeated byte value that starts and ends
on sector boundaries (the zeroed or wiped clusters typical of a gap between two runs of a
fragmented file), makes the candidate a fragment. A whole picture is then decoded by Pillow and
again by FFmpeg in strict mode, which catches a gap of random bytes that happened to end in EOI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from fellwatch.carving.base import (
    CarvedFragmentError,
    MiB,
    NotACandidate,
    Signature,
    Source,
    need,
    register,
    verify_picture,
)

# Markers followed by a two-byte length: APPn, DQT, DHT, SOFn, DRI, COM, DAC, DNL, EXP, JPG-n.
_SEGMENT = frozenset(
    [*range(0xC0, 0xD0), 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, *range(0xE0, 0xFF)]
)
_SOF = frozenset(m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC))
_FIRST = frozenset([*range(0xE0, 0xF0), 0xDB, 0xC4, 0xFE, *_SOF, 0xDD])
_SCAN_CHUNK = 256 * 1024
_SECTOR = 512
# FF followed by anything but 00, FF or a restart marker ends the entropy-coded data.
_SCAN_END = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")


def _constant_sectors(data: bytes, base: int) -> Iterator[int]:
    """Absolute offsets of the 512-aligned sectors in `data` made of one byte value."""
    first = (-base) % _SECTOR
    for rel in range(first, len(data) - _SECTOR + 1, _SECTOR):
        sector = data[rel : rel + _SECTOR]
        if sector.count(sector[:1]) == _SECTOR:
            yield base + rel


def _run_bounds(source: Source, at: int, value: int, floor: int) -> tuple[int, int]:
    """[start, end) of the run of `value` bytes around offset `at` (not before `floor`)."""
    start = at
    while start > floor:
        prev = source.read(max(floor, start - _SECTOR), start - max(floor, start - _SECTOR))
        kept = len(prev) - len(prev.rstrip(bytes([value])))
        start -= kept
        if kept < len(prev):
            break
    end = at
    while end < source.end:
        nxt = source.read(end, 64 * 1024)
        kept = len(nxt) - len(nxt.lstrip(bytes([value])))
        end += kept
        if kept < len(nxt) or not nxt:
            break
    return start, end


def _verify_entropy_data(data: bytes, length: int) -> None:
    """Decode again with FFmpeg's MJPEG decoder in "explode" mode.

    Pillow (libjpeg) only warns on corrupt entropy-coded data and still returns a picture; a
    fragment whose gap happened to hold an FF D9 would pass it. FFmpeg with err_detect=explode
    fails when the Huffman data runs out or does not decode. Only "invalid data" counts: a
    JPEG variant FFmpeg does not implement (e.g. arithmetic coding) is not called a fragment.
    """
    import av

    codec = av.CodecContext.create("mjpeg", "r")
    codec.options = {"err_detect": "explode", "lowres": "3"}  # 1/8 scale: Huffman all decoded
    try:
        codec.decode(av.Packet(data))
        codec.decode(None)
    except av.InvalidDataError as exc:
        raise CarvedFragmentError(f"entropy-coded data does not decode: {exc}", length) from exc
    except av.FFmpegError:
        return


class JpegCarver:
    name: ClassVar[str] = "jpeg"
    extension: ClassVar[str] = "jpg"
    content_type: ClassVar[str] = "image/jpeg"
    kind: ClassVar[str] = "picture"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"\xff\xd8\xff"),)
    default_max_size: ClassVar[int] = 64 * MiB

    def carve(self, source: Source, start: int, max_size: int) -> int:
        head = source.read(start, 6)
        if len(head) < 6 or head[3] not in _FIRST:
            raise NotACandidate("no marker segment after SOI")
        first_len = int.from_bytes(head[4:6], "big")
        if first_len < 2:
            raise NotACandidate("first segment length < 2")
        limit = min(source.end, start + max_size)
        pos = start + 2
        seen_sof = seen_sos = False
        while True:
            if pos >= limit:
                raise CarvedFragmentError("no EOI within the range or size limit", pos - start)
            marker = need(source, pos, 2, start, "marker")
            if marker[0] != 0xFF:
                raise CarvedFragmentError(f"expected a marker at +{pos - start}", pos - start)
            code = marker[1]
            if code == 0xFF:  # fill byte before a marker
                pos += 1
                continue
            if code == 0xD9:
                if not (seen_sof and seen_sos):
                    raise CarvedFragmentError("EOI before frame and scan", pos - start)
                length = pos + 2 - start
                verify_picture(source, start, length, "JPEG")
                _verify_entropy_data(source.read(start, length), length)
                return length
            if code not in _SEGMENT:
                raise CarvedFragmentError(f"invalid marker FF{code:02X}", pos - start)
            seg_len = int.from_bytes(need(source, pos + 2, 2, start, "segment length"), "big")
            if seg_len < 2:
                raise CarvedFragmentError("segment length < 2", pos - start)
            seen_sof = seen_sof or code in _SOF
            pos += 2 + seg_len
            if code == 0xDA:
                if not seen_sof:
                    raise CarvedFragmentError("scan before frame header", pos - start)
                seen_sos = True
                pos = self._skip_scan(source, start, pos, limit)

    @staticmethod
    def _skip_scan(source: Source, start: int, pos: int, limit: int) -> int:
        """Offset of the marker that ends the entropy-coded data starting at `pos`."""
        while pos < limit:
            # Overlap one byte so an FF at the end of a chunk still pairs with the next byte.
            data = source.read(pos, min(_SCAN_CHUNK, limit - pos) + 1)
            if len(data) < 2:
                break
            found = _SCAN_END.search(data)
            body = data if found is None else data[: found.start()]
            skip_to = pos
            for sector in _constant_sectors(body, pos):
                if sector < skip_to:
                    continue
                value = body[sector - pos]
                run_start, run_end = _run_bounds(source, sector, value, start)
                # A gap between two runs of a fragmented file is whole sectors (clusters) of
                # wiped or never-written space: it starts and ends on sector boundaries. A run
                # of zero bytes that is real entropy data (a flat area under optimised Huffman
                # tables) starts and ends anywhere, so it is not taken for a gap.
                if run_start % _SECTOR == 0 and run_end % _SECTOR == 0:
                    raise CarvedFragmentError(
                        f"scan data holds {(run_end - run_start) // _SECTOR} whole sector(s) of "
                        f"0x{value:02X} at +{run_start - start} (a gap between two runs)",
                        run_start - start,
                    )
                skip_to = run_end
            if found is not None:
                return pos + found.start()
            pos += len(data) - 1
        raise CarvedFragmentError("scan data runs past the range or size limit", pos - start)


register(JpegCarver())
