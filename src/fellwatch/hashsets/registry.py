"""The hash-set formats, and which one a file is in.

`FORMATS` is tried in order: the SQLite and header-marked formats first, the bare sum list
(anything that starts with a hex digest) last.
"""

from __future__ import annotations

from pathlib import Path

from fellwatch.hashsets.base import FolderFormat, HashSetError, HashSetFormat
from fellwatch.hashsets.hashdeep import Hashdeep
from fellwatch.hashsets.nsrl import NsrlRds
from fellwatch.hashsets.pdqlist import PdqList
from fellwatch.hashsets.sumlist import SumList
from fellwatch.hashsets.vics import VicsJson
from fellwatch.hashsets.vpdq import VpdqFormat
from fellwatch.registry import Registry

HEAD_BYTES = 64 * 1024

FORMATS: Registry[HashSetFormat] = Registry("hash-set format")


def register(fmt: HashSetFormat) -> HashSetFormat:
    """Add a format; a duplicate name is a programming error, refused like dfVFS does."""
    return FORMATS.register(fmt)


# vPDQ lines start with a frame number, so vPDQ goes before the bare sum list.
for _fmt in (NsrlRds(), Hashdeep(), VicsJson(), PdqList(), VpdqFormat(), SumList()):
    register(_fmt)


def get(name: str) -> HashSetFormat:
    try:
        return FORMATS.get(name)
    except KeyError as exc:
        raise HashSetError(str(exc.args[0])) from None


def folder_formats() -> list[FolderFormat]:
    """The formats that read a folder of their files as one set."""
    return [fmt for fmt in FORMATS if isinstance(fmt, FolderFormat)]


def folder_names() -> str:
    """The folder formats' names for messages: "vpdq" (or "vpdq or x")."""
    return " or ".join(fmt.name for fmt in folder_formats())


def detect(path: Path) -> HashSetFormat:
    """The format of the file at `path`, from its first bytes and its name; for a folder, the
    folder format whose files it holds."""
    if path.is_dir():
        readers = folder_formats()
        for reader in readers:
            try:
                if reader.sniff(b"", path):
                    return reader
            except OSError as exc:  # an unreadable file in the folder, as for a file
                raise HashSetError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
        if not any(reader.files(path) for reader in readers):
            raise HashSetError(f"{path.name}: empty folder, no hash-set files in it")
        names = folder_names()
        raise HashSetError(
            f"{path.name}: a folder, but not of {names} files (only {names} sets are read "
            "from a folder)"
        )
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError as exc:
        raise HashSetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not head.strip():
        raise HashSetError(f"{path.name}: empty file, not a hash set")
    for fmt in FORMATS:
        if fmt.sniff(head, path):
            return fmt
    known = ", ".join(FORMATS.names())
    raise HashSetError(f"{path.name}: not a known hash-set format (known: {known})")
