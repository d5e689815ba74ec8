"""The hash-set formats, and which one a file is in.

`FORMATS` is tried in order: the SQLite and header-marked formats first, the bare sum list
(anything that starts with a hex digest) last.
"""

from __future__ import annotations

from pathlib import Path

from fellwatch.hashsets.base import HashSetError, HashSetFormat
from fellwatch.hashsets.hashdeep import Hashdeep
from fellwatch.hashsets.nsrl import NsrlRds
from fellwatch.hashsets.pdqlist import PdqList
from fellwatch.hashsets.sumlist import SumList
from fellwatch.hashsets.vics import VicsJson
from fellwatch.hashsets.vpdq import VpdqFormat

HEAD_BYTES = 64 * 1024

FORMATS: dict[str, HashSetFormat] = {}


def register(fmt: HashSetFormat) -> HashSetFormat:
    """Add a format; a duplicate name is a programming error, refused like dfVFS does."""
    if fmt.name in FORMATS:
        raise ValueError(f"hash-set format already registered: {fmt.name}")
    FORMATS[fmt.name] = fmt
    return fmt


# vPDQ lines start with a frame number, so vPDQ goes before the bare sum list.
for _fmt in (NsrlRds(), Hashdeep(), VicsJson(), PdqList(), VpdqFormat(), SumList()):
    register(_fmt)


def get(name: str) -> HashSetFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise HashSetError(
            f"unknown hash-set format {name!r} (known: {', '.join(sorted(FORMATS))})"
        ) from None


def detect(path: Path) -> HashSetFormat:
    """The format of the file at `path`, from its first bytes and its name."""
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError as exc:
        raise HashSetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not head.strip():
        raise HashSetError(f"{path.name}: empty file, not a hash set")
    for fmt in FORMATS.values():
        if fmt.sniff(head, path):
            return fmt
    raise HashSetError(f"{path.name}: not a known hash-set format (known: {', '.join(FORMATS)})")
