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
from fellwatch.carving.chains import RangeWork
from fellwatch.carving.riff import riff_length, walk_chunks


class AviCarver:
    name: ClassVar[str] = "avi"
    extension: ClassVar[str] = "avi"
    content_type: ClassVar[str] = "video/x-msvideo"
    kind: ClassVar[str] = "video"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"RIFF"),)
    default_max_size: ClassVar[int] = 2048 * MiB

    def __init__(self) -> None:
        self.work = RangeWork()  # chunk chains already walked in the current range

    def carve(self, source: Source, start: int, max_size: int) -> int:
        if source.read(start + 8, 8) != b"AVI LIST":
            raise NotACandidate("not RIFF AVI with a LIST first")
        work = self.work.bind(source)

        def lists(tag: bytes, data: int, size: int) -> frozenset[bytes] | None:
            # A LIST's kind, once its own children add up (checked as the walk meets it).
            if tag != b"LIST" or size < 4:
                return None
            kind = source.read(data, 4)
            walk_chunks(work, "list", source, start, data + 4, data + size)
            return frozenset((kind,))

        length, kinds = riff_length(work, source, start, b"AVI ", max_size, lists)
        if not {b"hdrl", b"movi"} <= kinds:
            raise CarvedFragmentError("no hdrl and movi lists", length)
        return length


register(AviCarver())
