"""A zip or tar file given as the evidence itself: a phone extraction.

Logical and full file-system extractions of phones arrive as a zip (Cellebrite's UFDR is a zip
with its report beside the files, GrayKey and others write zips) or as a tar (full file-system
extractions of iPhones). Such a file is opened as logical evidence whose items are its members,
each read as a stream straight from the archive: nothing is unpacked to disk.

Why the shape is what it is:

* **Members are reopened at random**: a worker process reopens the evidence from its path and
  a member from its index (zip: the central directory; tar: the header offset), so the scan's
  batches run in parallel like a folder's.
* **The archive bomb limits are the archives' own** (`ArchiveLimits`): member count, and the
  expansion ratio of every member, judged on its declared sizes before reading and on the bytes
  that really come out while reading. `max_total_bytes` is not applied to the members of the
  evidence itself: a full file-system extraction is tens of gigabytes by design, every member
  is capped at its declared size, and archives *inside* the extraction are expanded by the
  scan with every limit. Encrypted members and unknown compression methods are item errors.
* **An uncompressed tar only**: a `.tar.gz` cannot be read at random without decompressing from
  its start for every member (refused with a one-line reason, gunzip it first).
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from fellwatch.evidence.archives import (
    _ZIP_METHOD_NAMES,
    _ZIP_METHODS,
    DEFAULT_LIMITS,
    ArchiveLimits,
    _Reader,
    _utc,
    _zip_times,
)
from fellwatch.evidence.base import ByteRange
from fellwatch.evidence.item import EvidenceError, Item, ItemError
from fellwatch.evidence.names import display_name

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def extraction_kind(head: bytes) -> str | None:
    """"zip" or "tar" when the first bytes of a file are an archive's, else None."""
    if head[:4] in ZIP_MAGICS:
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _member_path(name: str) -> str:
    # Extraction tools write "./private/var/...", "/data/..." or "data/...": one display form.
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return "/" + name.lstrip("/")


class ExtractionEvidence:
    """The members of a zip or an uncompressed tar, as items (origin "archive")."""

    def __init__(self, path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
        self.path = str(path)
        self._limits = limits
        try:
            with path.open("rb") as fh:
                kind = extraction_kind(fh.read(512))
        except OSError as exc:
            raise EvidenceError(f"cannot read evidence {path.name}: {exc.strerror}") from exc
        if kind is None:
            raise EvidenceError(f"not a zip or tar extraction: {path.name}")
        self.kind = kind
        self.format = f"{kind}-extraction"
        self._file: BinaryIO = path.open("rb")
        self._members: list[Item] = []
        try:
            if kind == "zip":
                self._zip: zipfile.ZipFile | None = self._open_zip(path)
                self._tar: tarfile.TarFile | None = None
                self._tar_infos: dict[int, tarfile.TarInfo] = {}
            else:
                self._zip = None
                self._tar = self._open_tar(path)
        except EvidenceError:
            self._file.close()
            raise

    # --- listing -------------------------------------------------------------------------

    def _open_zip(self, path: Path) -> zipfile.ZipFile:
        try:
            zf = zipfile.ZipFile(cast(IO[bytes], self._file))
        except Exception as exc:  # hostile bytes may break the parser in any way
            raise EvidenceError(f"corrupt zip extraction {path.name}: {exc}") from None
        infos = zf.infolist()
        if len(infos) > self._limits.max_members:
            zf.close()
            raise EvidenceError(
                f"archive bomb: {path.name} has more than {self._limits.max_members} members")
        seen: set[str] = set()
        for index, info in enumerate(infos):
            if info.is_dir() and info.file_size == 0:
                continue
            shown = _member_path(display_name(info.orig_filename))
            error = None
            if info.flag_bits & 0x1:
                error = "encrypted archive member: not decrypted"
            elif info.compress_type not in _ZIP_METHODS:
                method = _ZIP_METHOD_NAMES.get(info.compress_type, "unknown")
                error = f"unsupported compression method {info.compress_type} ({method}): not read"
            elif self._declared_bomb(info.file_size, info.compress_size):
                error = (f"archive bomb: member declares more than "
                         f"{self._limits.max_ratio:g} times its compressed size; not read")
            self._members.append(self._item(shown, index, info.file_size, _zip_times(info),
                                            error, seen))
        self._members.sort(key=lambda i: i.key)
        return zf

    def _open_tar(self, path: Path) -> tarfile.TarFile:
        try:
            tf = tarfile.open(fileobj=self._file, mode="r:", encoding="utf-8",  # noqa: SIM115
                              errors="surrogateescape")
        except Exception as exc:
            raise EvidenceError(f"corrupt tar extraction {path.name}: {exc}") from None
        infos: dict[int, tarfile.TarInfo] = {}
        seen: set[str] = set()
        index = -1
        while True:
            try:
                info = tf.next()
            except Exception as exc:  # a broken header part-way: what was listed is kept
                self._members.append(Item(
                    evidence=self.path, path="/", key="~tar-error", size=0, origin="archive",
                    error=f"corrupt tar: {display_name(str(exc))} after member {index + 1}; "
                          "rest not listed"))
                break
            if info is None:
                break
            index += 1
            if index >= self._limits.max_members:
                tf.close()
                raise EvidenceError(
                    f"archive bomb: {path.name} has more than {self._limits.max_members} members")
            if not info.isreg():
                continue
            infos[index] = info
            self._members.append(self._item(_member_path(display_name(info.name)), index,
                                            info.size, {"modified": _utc(info.mtime)}, None, seen))
        # tarfile keeps every header it read; only ours are kept (by index, for reopening).
        cast(Any, tf).members.clear()
        self._tar_infos = infos
        self._members.sort(key=lambda i: i.key)
        return tf

    def _declared_bomb(self, size: int, compressed: int) -> bool:
        limits = self._limits
        return size > limits.ratio_floor_bytes and size > limits.max_ratio * max(compressed, 1)

    def _item(self, shown: str, index: int, size: int, times: dict[str, str],
              error: str | None, seen: set[str]) -> Item:
        # Names repeat in a zip (a member added twice): the later ones get their index.
        key = shown if shown not in seen else f"{shown}~{index}"
        seen.add(key)
        return Item(
            evidence=self.path, path=shown, key=key, size=max(size, 0), origin="archive",
            times={k: v for k, v in times.items() if v}, locator=("extraction", index),
            error=error,
        )

    # --- the Evidence contract -----------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "volumes": []}

    def items(self) -> Iterator[Item]:
        return iter(self._members)

    def open_item(self, item: Item) -> BinaryIO:
        if not item.locator or item.locator[0] != "extraction":
            raise ItemError(f"not a member of this extraction: {item.path}")
        index = item.locator[1]
        limits = self._limits
        if self._zip is not None:
            info = self._zip.infolist()[index]
            try:
                member = self._zip.open(info)
            except Exception as exc:  # a bad local header, a name mismatch
                raise ItemError(f"corrupt zip member: {display_name(str(exc))}") from exc
            return cast(BinaryIO, io.BufferedReader(_Reader(
                member, "corrupt zip member", compressed_size=info.compress_size,
                declared_size=info.file_size, ratio=(limits.max_ratio, limits.ratio_floor_bytes),
            )))
        assert self._tar is not None
        tinfo = self._tar_infos.get(index)
        if tinfo is None:
            raise ItemError(f"not a file member of this tar: {item.path}")
        try:
            handle = self._tar.extractfile(tinfo)
        except Exception as exc:
            raise ItemError(f"corrupt tar member: {display_name(str(exc))}") from exc
        if handle is None:
            raise ItemError(f"not a file member of this tar: {item.path}")
        return cast(BinaryIO, io.BufferedReader(_Reader(
            cast(IO[bytes], handle), "corrupt tar member", declared_size=tinfo.size)))

    def unallocated(self) -> Iterator[ByteRange]:
        return iter(())

    def read_range(self, offset: int, length: int) -> bytes:
        raise ItemError("an extraction has no byte ranges")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()
        self._file.close()
