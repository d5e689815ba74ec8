"""The normalised form every hash-set format is read into, and the format registry.

Each format module (vics, hashdeep, sumlist, nsrl, pdqlist, …) provides a `HashSetFormat`:
`sniff` decides from the first bytes and the file name whether the file is of that format,
`read` yields `HashEntry` values without loading the whole file into memory. A `FolderFormat`
(vpdq) also reads a folder of its files as one set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, Protocol, runtime_checkable

from fellwatch.errors import FellwatchError

SetKind = Literal["known-bad", "known-good"]
HashKind = Literal["md5", "sha1", "sha256", "pdq", "vpdq"]

HEX_LENGTHS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}


class HashSetError(FellwatchError):
    """A hash-set file cannot be read (unknown format, malformed); one-line message."""


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One known hash. `digest` is lower-case hex. `category` is the set's own label (e.g. "1"
    for Project VIC CAM, "A" for UK category A), mapped for display by the set's category map."""

    kind: HashKind
    digest: str
    category: str | None = None
    media_id: str | None = None
    size: int | None = None
    quality: int | None = None  # PDQ quality, when the list carries it


@dataclass(frozen=True, slots=True)
class HashSetInfo:
    """A stored, versioned hash set. `version` is the source file's SHA-256 and import date."""

    name: str
    kind: SetKind
    format: str
    source_sha256: str
    imported: str
    entries: int
    counts: dict[str, int] = field(default_factory=dict)  # entries per hash kind
    category_map: dict[str, str] = field(default_factory=dict)
    # What the reader counted and left out on purpose (e.g. {"PhotoDNA": 12}: proprietary), and
    # what the store folded: duplicate digests, frames repeated within one video. Never dropped
    # silently.
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"sha256:{self.source_sha256[:16]} imported {self.imported}"


class ReadNotes:
    """What a reader saw but did not turn into entries, by reason, e.g. {"PhotoDNA": 12}.

    A reader is a generator, so it reports through this object, which the caller passes in and
    reads once the generator is exhausted.
    """

    def __init__(self) -> None:
        self.skipped: dict[str, int] = {}

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count


class HashSetFormat(Protocol):
    name: ClassVar[str]
    default_kind: ClassVar[SetKind]

    def sniff(self, head: bytes, path: Path) -> bool: ...

    def read(self, path: Path, notes: ReadNotes | None = None) -> Iterator[HashEntry]: ...


@runtime_checkable
class FolderFormat(HashSetFormat, Protocol):
    """A format whose `read` also takes a folder of its files (vPDQ: one video per file)."""

    def files(self, folder: Path) -> list[Path]:
        """The files `read(folder)` reads, sorted. The store computes the folder's version over
        this same list, so a file the reader skips can never change the version, nor a file it
        reads go unnoticed."""
        ...
