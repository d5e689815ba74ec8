"""hashdeep / md5deep audit files.

    %%%% HASHDEEP-1.0
    %%%% size,md5,sha256,filename
    ## Invoked from: /home/examiner
    ## $ hashdeep -r known
    ##
    5,0d599f0ec05c3bda8c3b8a68c32a1b47,2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824,/known/a.txt

The column line names the digests present (md5, sha1, sha256, tiger, whirlpool). The file name
is the last column and may itself hold commas. Tiger and Whirlpool are counted, not kept: no
signal computes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from fellwatch.hashsets.base import HashEntry, HashKind, HashSetError, ReadNotes, SetKind
from fellwatch.hashsets.digests import normalise

MAGIC = "%%%% HASHDEEP-1.0"
_KEPT: dict[str, HashKind] = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}
_KNOWN_COLUMNS = {"size", "md5", "sha1", "sha256", "tiger", "whirlpool", "filename"}


class Hashdeep:
    name: ClassVar[str] = "hashdeep"
    default_kind: ClassVar[SetKind] = "known-bad"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.decode("utf-8", "ignore").lstrip("\ufeff").startswith(MAGIC)

    def read(self, path: Path, notes: ReadNotes | None = None) -> Iterator[HashEntry]:
        notes = notes if notes is not None else ReadNotes()
        columns: list[str] | None = None
        try:
            with path.open("r", encoding="utf-8-sig", errors="surrogateescape") as stream:
                for number, raw in enumerate(stream, 1):
                    line = raw.rstrip("\r\n")
                    where = f"{path.name}: line {number}"
                    if number == 1:
                        if line.strip() != MAGIC:
                            raise HashSetError(f"{where}: not a hashdeep file (no {MAGIC} header)")
                        continue
                    if line.startswith("%%%%"):
                        if line.strip() == MAGIC:
                            continue  # concatenated outputs repeat the header
                        columns = _columns(line, where)
                        continue
                    if not line.strip() or line.startswith("##"):
                        continue
                    if columns is None:
                        raise HashSetError(f"{where}: a hash line before the %%%% column line")
                    yield from _entries(line, columns, where, notes)
        except OSError as exc:
            raise HashSetError(f"{path.name}: cannot read: {exc.strerror or exc}") from None


def _columns(line: str, where: str) -> list[str]:
    columns = [c.strip().lower() for c in line[4:].split(",")]
    unknown = [c for c in columns if c not in _KNOWN_COLUMNS]
    if unknown or columns[-1:] != ["filename"] or not any(c in _KEPT for c in columns):
        raise HashSetError(f"{where}: unexpected hashdeep column line {line.strip()!r}")
    return columns


def _entries(line: str, columns: list[str], where: str, notes: ReadNotes) -> Iterator[HashEntry]:
    fields = line.split(",", len(columns) - 1)
    if len(fields) != len(columns):
        raise HashSetError(f"{where}: {len(fields)} fields, the column line names {len(columns)}")
    size: int | None = None
    if "size" in columns:
        text = fields[columns.index("size")].strip()
        if not text.isdigit():
            raise HashSetError(f"{where}: size is not a number: {text!r}")
        size = int(text)
    for column, value in zip(columns, fields, strict=True):
        kind = _KEPT.get(column)
        if kind is not None:
            yield HashEntry(kind, normalise(value, kind, where), None, None, size)
        elif column in ("tiger", "whirlpool"):
            notes.skip(f"{column} digest (no signal computes it)")
