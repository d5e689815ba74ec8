"""A directory tree as logical evidence (e.g. an extraction a phone tool produced).

Names are read as bytes so a name that is not valid UTF-8 is kept and shown escaped. Symbolic
links are listed as items with an error (they are not followed: a link can point outside the
evidence) so nothing is silently dropped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from fellwatch.evidence.base import ByteRange
from fellwatch.evidence.item import EvidenceError, Item, ItemError
from fellwatch.evidence.names import display_name


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class FolderEvidence:
    format = "folder"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise EvidenceError(f"not a folder: {root}")
        self.path = str(root)
        self._root = os.fsencode(root)

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "volumes": []}

    def items(self) -> Iterator[Item]:
        yield from self._walk(self._root, b"")

    def _walk(self, directory: bytes, relative: bytes) -> Iterator[Item]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield self._error_item(relative or b"/", f"cannot list folder: {exc.strerror}")
            return
        for entry in entries:
            rel = relative + b"/" + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield self._error_item(rel, f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISDIR(st.st_mode):
                yield from self._walk(entry.path, rel)
            elif stat.S_ISREG(st.st_mode):
                yield Item(
                    evidence=self.path,
                    path=display_name(rel),
                    key=display_name(rel),
                    size=st.st_size,
                    origin="folder",
                    times={"mtime": _iso(st.st_mtime), "atime": _iso(st.st_atime)},
                    locator=("folder", rel),
                )
            elif stat.S_ISLNK(st.st_mode):
                yield self._error_item(rel, "symbolic link: not followed")

    def _error_item(self, rel: bytes, error: str) -> Item:
        name = display_name(rel)
        return Item(evidence=self.path, path=name, key=name, size=0, origin="folder", error=error)

    def open_item(self, item: Item) -> BinaryIO:
        kind, rel = item.locator
        if kind != "folder":
            raise ItemError(f"not a folder item: {item.path}")
        try:
            # O_NOATIME where allowed: reading evidence should not even change access times.
            flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
            try:
                fd = os.open(self._root + rel, flags)
            except PermissionError:
                fd = os.open(self._root + rel, os.O_RDONLY)
            return os.fdopen(fd, "rb")
        except OSError as exc:
            raise ItemError(f"cannot open: {exc.strerror}") from exc

    def unallocated(self) -> Iterator[ByteRange]:
        return iter(())

    def read_range(self, offset: int, length: int) -> bytes:
        raise ItemError("a folder has no byte ranges")

    def close(self) -> None:
        pass
