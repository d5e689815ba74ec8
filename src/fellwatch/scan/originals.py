"""Originals on request: an item's bytes read again from the evidence, through its locator.

The scan keeps thumbnails, never originals; when a person asks for one item (a reveal, a
download for the court), `read_original(evidence_path, record)` reopens it from the evidence,
read-only, from what the record says:

* a file-system or folder item by its `key` (the evidence's own walk gives it back with its
  locator: path spec and inode, or folder path; deleted files and alternate streams alike);
* an archive member (`outer.zip!inner/x.jpg`, nested ones too) by opening the outermost item
  and expanding it with the scan's own archive reader and limits until the member's key;
* a carved object by its `offset` and `size` in the evidence.

The bytes read are checked against the record's SHA-256 (else SHA-1, MD5): what comes back is
provably the item the scan recorded, or an `OriginalError` says why not. The size is capped
(`max_bytes`): an original is held in memory to be served.

An evidence's walk (metadata only) is done once per process and kept for the next requests
(`CACHED_EVIDENCE` most recently used evidence), so the first original of a large image costs
a walk of its file systems and the next ones only their own read.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, BinaryIO

from fellwatch.errors import FellwatchError
from fellwatch.evidence import Evidence, EvidenceError, Item, ItemError, open_evidence
from fellwatch.evidence.archives import ArchiveLimits, iter_archive
from fellwatch.record import ItemRecord
from fellwatch.signals import filetype

DEFAULT_MAX_BYTES = 256 << 20
CACHED_EVIDENCE = 2
_MEMBER_SUFFIX = re.compile(r"(![0-9]+)+$")
_CHUNK = 1 << 20


class OriginalError(FellwatchError):
    """The original cannot be given: too large, gone from the evidence, or not the bytes the
    scan recorded. One line, fit to show."""


class _Opened:
    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.lock = threading.Lock()  # one reader of an evidence's handles at a time
        self._items: dict[str, Item] | None = None

    def item(self, key: str) -> Item | None:
        if self._items is None:
            # An E01's chunks as the scan verified them (remembered in the data directory):
            # listing the items must not read a whole image again for them.
            from fellwatch.scan.verify import EvidenceHashCache, supply_chunk_check

            if self.evidence.format == "ewf":
                cache = EvidenceHashCache.default()
                try:
                    supply_chunk_check(self.evidence, cache)
                finally:
                    cache.close()
            self._items = {item.key: item for item in self.evidence.items()}
        return self._items.get(key)


_CACHE: OrderedDict[str, _Opened] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _opened(evidence_path: str) -> _Opened:
    with _CACHE_LOCK:
        found = _CACHE.get(evidence_path)
        if found is not None:
            _CACHE.move_to_end(evidence_path)
            return found
        try:
            found = _Opened(open_evidence(evidence_path))
        except EvidenceError as exc:
            raise OriginalError(f"evidence cannot be opened: {exc}") from None
        _CACHE[evidence_path] = found
        while len(_CACHE) > CACHED_EVIDENCE:
            _, old = _CACHE.popitem(last=False)
            old.evidence.close()
        return found


def forget_evidence() -> None:
    """Close every cached evidence (tests; a web worker shutting down)."""
    with _CACHE_LOCK:
        while _CACHE:
            _, old = _CACHE.popitem()
            old.evidence.close()


def read_original(
    evidence_path: str,
    record: Mapping[str, Any] | ItemRecord,
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: ArchiveLimits | None = None,
) -> bytes:
    """The bytes of the item `record` (a findings.json item or its `ItemRecord`) from the
    evidence at `evidence_path` (where the evidence is now; the record's own `evidence` is the
    path the scan was given). Raises OriginalError."""
    if isinstance(record, ItemRecord):
        record = record.to_json()
    size = int(record.get("size") or 0)
    if size > max_bytes:
        raise OriginalError(f"item is {size} bytes, more than the {max_bytes} an original may be")
    opened = _opened(evidence_path)
    with opened.lock:
        try:
            data = _read(opened, record, max_bytes, limits or ArchiveLimits())
        except ItemError as exc:
            raise OriginalError(f"cannot read the item again: {exc}") from None
        except (OSError, RuntimeError) as exc:
            raise OriginalError(f"cannot read the item again: {type(exc).__name__}: {exc}") \
                from None
    _check(data, record)
    return data


def _read(opened: _Opened, record: Mapping[str, Any], max_bytes: int,
          limits: ArchiveLimits) -> bytes:
    key = str(record["key"])
    ev = opened.evidence
    if record.get("origin") == "carved":
        offset, size = record.get("offset"), record.get("size")
        if offset is None or size is None:
            raise OriginalError("carved item without offset and size")
        return ev.read_range(int(offset), int(size))
    item = opened.item(key)
    if item is not None:
        with ev.open_item(item) as stream:
            return _read_capped(stream, max_bytes)
    if record.get("origin") != "archive":
        raise OriginalError(f"item {key!r} is not in the evidence")
    outer_key = _MEMBER_SUFFIX.sub("", key)
    outer = opened.item(outer_key)
    if outer is None:
        raise OriginalError(f"the archive holding {key!r} is not in the evidence")
    with ev.open_item(outer) as stream:
        head = stream.read(4096)
    content_type = filetype.sniff(head)
    if not filetype.is_archive(content_type):
        raise OriginalError(f"{outer.path} is no longer an archive ({content_type})")
    with ev.open_item(outer) as stream:
        for member in iter_archive(stream, outer, content_type, limits):
            if member.item.key == key:
                if member.stream is None:
                    raise OriginalError(f"member cannot be read: {member.item.error}")
                return _read_capped(member.stream, max_bytes)
            if member.stream is not None:
                _drain(member.stream)
    raise OriginalError(f"member {record.get('path')!r} is not in its archive")


def _read_capped(stream: BinaryIO, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    held = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        held += len(chunk)
        if held > max_bytes:
            raise OriginalError(f"item holds more than the {max_bytes} bytes an original may be")
        parts.append(chunk)


def _drain(stream: BinaryIO) -> None:
    # The archive reader wants each member read to its end before the next (a tar or gzip
    # stream has no other way forward).
    while stream.read(_CHUNK):
        pass


def _check(data: bytes, record: Mapping[str, Any]) -> None:
    for name in ("sha256", "sha1", "md5"):
        expected = record.get(name)
        if expected:
            if hashlib.new(name, data).hexdigest() != str(expected).lower():
                raise OriginalError(
                    f"the bytes read again differ from the scan's record ({name}): the "
                    "evidence or the record is not the one scanned"
                )
            return
    raise OriginalError("the record has no digest to check the original against")
