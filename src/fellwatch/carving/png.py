"""PNG: signature, IHDR first, a walk of chunk headers up to IEND, then every CRC checked.

A CRC per chunk makes PNG the one picture format whose fragments are found reliably: the first
chunk that spans a gap fails its CRC.
"""

from __future__ import annotations

import zlib
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

_MAGIC = b"\x89PNG\r\n\x1a\n"
_CRC_CHUNK = 1 << 20
# Bounds the header walk of one candidate: encoders write IDAT in 8-64 KiB chunks, so a 64 MiB
# PNG has at most a few thousand; zero-length chunks repeated would make the walk long.
_MAX_CHUNKS = 65_536


def _is_chunk_type(tag: bytes) -> bool:
    return all(65 <= b <= 90 or 97 <= b <= 122 for b in tag)


class PngCarver:
    name: ClassVar[str] = "png"
    extension: ClassVar[str] = "png"
    content_type: ClassVar[str] = "image/png"
    kind: ClassVar[str] = "picture"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(_MAGIC),)
    default_max_size: ClassVar[int] = 64 * MiB

    def carve(self, source: Source, start: int, max_size: int) -> int:
        head = source.read(start, 33)
        if len(head) < 33 or head[8:16] != b"\x00\x00\x00\x0dIHDR":
            raise NotACandidate("no IHDR after the signature")
        if zlib.crc32(head[12:29]) != int.from_bytes(head[29:33], "big"):
            raise NotACandidate("IHDR CRC mismatch")
        limit = min(source.end, start + max_size)
        # Two passes. The first walks chunk headers only (8 bytes a chunk, a jump over each
        # body) up to IEND; only a candidate whose chain of headers is whole has its CRCs
        # checked. A CRC check of every claimed chunk as the walk goes costs up to `max_size`
        # per candidate, and space full of signatures whose first chunk claims to run to the
        # end of the range then takes candidates x range bytes (hours, not seconds).
        chunks: list[tuple[int, int, bytes]] = []  # (position, body length, tag)
        pos = start + 8
        while True:
            if pos + 12 > limit:
                raise CarvedFragmentError("no IEND within the range or size limit", pos - start)
            if len(chunks) >= _MAX_CHUNKS:
                raise CarvedFragmentError(f"more than {_MAX_CHUNKS} chunks", pos - start)
            header = need(source, pos, 8, start, "chunk header")
            length = int.from_bytes(header[:4], "big")
            tag = header[4:8]
            if length > 0x7FFFFFFF or not _is_chunk_type(tag):
                raise CarvedFragmentError(f"invalid chunk at +{pos - start}", pos - start)
            end = pos + 8 + length + 4
            if end > limit:
                raise CarvedFragmentError(f"chunk {tag!r} runs past the limit", pos - start)
            chunks.append((pos, length, tag))
            pos = end
            if tag == b"IEND":
                break
        for at_chunk, length, tag in chunks:
            crc = zlib.crc32(tag)
            at = at_chunk + 8
            while at < at_chunk + 8 + length:
                piece = need(source, at, min(_CRC_CHUNK, at_chunk + 8 + length - at), start,
                             "chunk")
                crc = zlib.crc32(piece, crc)
                at += len(piece)
            if crc != int.from_bytes(need(source, at, 4, start, "CRC"), "big"):
                raise CarvedFragmentError(f"CRC mismatch in chunk {tag.decode()}",
                                          at_chunk - start)
        verify_picture(source, start, pos - start, "PNG")
        return pos - start

register(PngCarver())
