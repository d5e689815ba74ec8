"""AVI: RIFF "AVI " holding LIST hdrl (headers) and LIST movi (frames), optional idx1.

OpenDML files larger than 1 GiB continue in further RIFF "AVIX" lists after the first; only the
first RIFF is carved (documented in docs/carving.md).
"""

from __future__ import annotations

from typing import ClassVar

from fellwatch.carving.base import (
    CarvedFragmentError,
    MiB,
    NotACandidate,
    Signature,
    Source,
    register,
)
from fellwatch.carving.riff import riff_length, walk_chunks


class AviCarver:
    name: ClassVar[str] = "avi"
    extension: ClassVar[str] = "avi"
    content_type: ClassVar[str] = "video/x-msvideo"
    kind: ClassVar[str] = "video"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"RIFF"),)
    default_max_size: ClassVar[int] = 2048 * MiB

    def carve(self, source: Source, start: int, max_size: int) -> int:
        if source.read(start + 8, 8) != b"AVI LIST":
            raise NotACandidate("not RIFF AVI with a LIST first")
        length = riff_length(source, start, b"AVI ", max_size)
        lists = set()
        for tag, data, size in walk_chunks(source, start, start + 12, start + length):
            if tag == b"LIST" and size >= 4:
                kind = source.read(data, 4)
                lists.add(kind)
                walk_chunks(source, start, data + 4, data + size)
        if not {b"hdrl", b"movi"} <= lists:
            raise CarvedFragmentError("no hdrl and movi lists", length)
        return length


register(AviCarver())
