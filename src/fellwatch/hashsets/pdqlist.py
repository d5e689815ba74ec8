"""Lists of PDQ perceptual hashes: CSV or TSV with a header row.

    pdq,quality,category,media_id
    f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,1,4711

The `pdq` column (64 hex) is required; `quality` (0-100), `category` and `media_id` are
optional. Column names are matched without regard to case; other columns are ignored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from fellwatch.hashsets.base import HashEntry, HashSetError, ReadNotes, SetKind
from fellwatch.hashsets.digests import normalise


def _header(line: str) -> tuple[str, list[str]]:
    delimiter = "\t" if "\t" in line else ","
    return delimiter, [c.strip().strip('"').lower() for c in line.split(delimiter)]


class PdqList:
    name: ClassVar[str] = "pdqlist"
    default_kind: ClassVar[SetKind] = "known-bad"

    def sniff(self, head: bytes, path: Path) -> bool:
        first = head.decode("utf-8", "ignore").lstrip("\ufeff").split("\n", 1)[0].strip()
        return "pdq" in _header(first)[1]

    def read(self, path: Path, notes: ReadNotes | None = None) -> Iterator[HashEntry]:
        try:
            with path.open("r", encoding="utf-8-sig", newline="") as stream:
                delimiter, header = _header(stream.readline().strip())
                if "pdq" not in header:
                    raise HashSetError(f"{path.name}: line 1: no 'pdq' column in the header")
                col = {
                    name: header.index(name)
                    for name in ("pdq", "quality", "category", "media_id")
                    if name in header
                }
                for number, row in enumerate(csv.reader(stream, delimiter=delimiter), 2):
                    if not any(cell.strip() for cell in row):
                        continue
                    where = f"{path.name}: line {number}"
                    if len(row) != len(header):
                        raise HashSetError(
                            f"{where}: {len(row)} fields, the header names {len(header)}"
                        )
                    yield HashEntry(
                        "pdq",
                        normalise(row[col["pdq"]], "pdq", where),
                        _cell(row, col.get("category")),
                        _cell(row, col.get("media_id")),
                        None,
                        _quality(_cell(row, col.get("quality")), where),
                    )
        except UnicodeDecodeError as exc:
            raise HashSetError(f"{path.name}: not UTF-8 text ({exc.reason})") from None
        except csv.Error as exc:
            raise HashSetError(f"{path.name}: malformed CSV: {exc}") from None
        except OSError as exc:
            raise HashSetError(f"{path.name}: cannot read: {exc.strerror or exc}") from None


def _cell(row: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    return row[index].strip() or None


def _quality(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) > 100:
        raise HashSetError(f"{where}: quality is not a number from 0 to 100: {text!r}")
    return int(text)
