"""A directory tree as logical evidence (e.g. an extraction a phone tool produced).

Names are read as bytes so a name that is not valid UTF-8 is kept and shown escaped. Symbolic
links, FIFOs, devices and sockets are listed as items with an error (never opened: a link can
point outside the evidence, a FIFO blocks the reader) so nothing is silently dropped. The walk
is iterative, so any depth is walked (up to `MAX_DEPTH`, past which the folder is recorded).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from fellwatch.evidence.base import ByteRange, special_kind
from fellwatch.evidence.item import EvidenceError, Item, ItemError
from fellwatch.evidence.names import display_name

# Deeper than any real extraction; a bound so a hostile tree cannot grow the walk's stack of
# open paths without limit (the names beyond are recorded, not dropped).
MAX_DEPTH = 4096


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
        # Depth first with an explicit stack of directory listings (a recursive walk hits
        # Python's recursion limit in a folder nested ~1 000 deep), in the order a recursive
        # walk gives: each entry in sorted order, a subfolder's contents where it stands.
        stack: list[tuple[Iterator[os.DirEntry[bytes]], bytes, int]] = []
        first = self._listing(self._root, b"")
        if isinstance(first, Item):
            yield first
            return
        stack.append((first, b"", 0))
        while stack:
            entries, relative, depth = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            rel = relative + b"/" + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield self._error_item(rel, f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > MAX_DEPTH:
                    yield self._error_item(
                        rel, f"folder nested deeper than {MAX_DEPTH} levels: not listed")
                    continue
                listing = self._listing(entry.path, rel)
                if isinstance(listing, Item):
                    yield listing
                else:
                    stack.append((listing, rel, depth + 1))
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
            else:
                # A FIFO would block the read for ever; a device or socket has no fixed
                # content. Listed so the name is not lost, never opened.
                yield self._error_item(rel, f"{special_kind(st.st_mode)}: not read")

    def _listing(self, directory: bytes, relative: bytes) -> Iterator[os.DirEntry[bytes]] | Item:
        """The sorted entries of a directory, or the error item that says why there are none."""
        try:
            with os.scandir(directory) as scan:
                return iter(sorted(scan, key=lambda e: e.name))
        except OSError as exc:
            return self._error_item(relative or b"/", f"cannot list folder: {exc.strerror}")

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
