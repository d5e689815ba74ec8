"""What a worker process does with a batch of items: read each once, digest, sniff, signals.

Workers reopen evidence themselves from its path (one handle per process, cached) and reopen
items from their picklable locators, so nothing open is shared between processes. Matching is
not done here: the scan's main process holds the hash sets once and matches each batch.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from fellwatch.carving import carve
from fellwatch.errors import reason
from fellwatch.evidence import Evidence, Item, open_evidence
from fellwatch.evidence.archives import (
    ZIP_TAIL_BYTES,
    ArchiveLimits,
    embedded_zip,
    iter_archive,
)
from fellwatch.faults import CRASH_ON_PATH, THUMBNAIL_FAIL_ON_PATH, fault_value
from fellwatch.record import ItemRecord
from fellwatch.scan.batch import Batch, BatchResult, base_record, range_error_record
from fellwatch.scan.verify import identity
from fellwatch.settings import ScanSettings
from fellwatch.signals import filetype
from fellwatch.signals.base import HEAD_BYTES
from fellwatch.signals.catalogue import load_signals
from fellwatch.signals.digests import CHUNK, DigestHasher
from fellwatch.signals.thumbnail import FrameSampler, picture_thumbnail
from fellwatch.store.scanstore import stored_forms
from fellwatch.store.thumbnails import (
    KeyedThumbnail,
    Thumbnail,
    ThumbnailFailure,
    ThumbnailOutcome,
)

HEAD = 4096


_EVIDENCE: dict[str, tuple[list[list[Any]], Evidence]] = {}
_CRASH_ON = fault_value(CRASH_ON_PATH)
_THUMBNAIL_FAILS_ON = fault_value(THUMBNAIL_FAIL_ON_PATH)


def open_cached(path: str) -> Evidence:
    """The evidence at `path`, opened once per process and kept for every batch.

    A Dask worker lives on across scans: a handle is kept only while the files at `path`
    keep their identity (device, inode, size, mtime, ctime), so another image put at the
    same path is opened anew, never read through the old one's handle.
    """
    now = identity(Path(path))
    kept = _EVIDENCE.get(path)
    if kept is not None and kept[0] == now:
        return kept[1]
    if kept is not None:
        kept[1].close()
    ev = open_evidence(path)
    _EVIDENCE[path] = (now, ev)
    return ev


def process_batch(batch: Batch, parallel_digests: bool | None = None) -> BatchResult:
    """Entry point in a worker (a local process, a Dask worker, or inline).

    `parallel_digests`: hash MD5/SHA1/SHA256 on three threads; by default only when the scan
    has one worker (a Dask worker is one process per core and says False).
    """
    ev = open_cached(batch.evidence_path)
    result = BatchResult(batch.evidence_index, batch.unit_keys())
    processor = ItemProcessor(ev, batch.settings, parallel_digests)
    for item in batch.items:
        try:
            result.records.extend(processor.process(item))
        except Exception as exc:  # a reader or signal bug must cost one item, not the scan
            record = base_record(item)
            record.error = f"internal error: {reason(exc)}"
            result.records.append(record)
            processor.drop_thumbnails(item.key)
        result.bytes_read += item.size
    for byte_range in batch.ranges:
        # Carved items are items like any other: hashed, signalled, matched.
        carved_so_far: list[ItemRecord] = []
        try:
            for carved in carve(ev.read_range, [byte_range], ev.path):
                carved_so_far.extend(processor.process(carved))
        except Exception as exc:  # what was carved before the failure is kept
            carved_so_far.append(range_error_record(ev.path, byte_range, exc))
        result.records.extend(carved_so_far)
        result.bytes_read += byte_range.length
    result.thumbnails = processor.thumbnails
    result.encoded = [stored_forms(r) for r in result.records]
    return result


class ItemProcessor:
    def __init__(
        self, evidence: Evidence, settings: ScanSettings, parallel_digests: bool | None = None
    ) -> None:
        self.evidence = evidence
        self.settings = settings
        self.signals = load_signals()
        self._tail = b""  # the last bytes of the item _read read last
        self.thumbnails: list[ThumbnailOutcome] = []
        # Threads per digest help only when this is the one worker; with a worker per core
        # they contend for the same cores (measured: 25 % slower with two workers).
        self.parallel_digests = (
            settings.worker_count() == 1 if parallel_digests is None else parallel_digests
        )

    def process(self, item: Item) -> Iterator[ItemRecord]:
        """The record of one item, then the records of anything inside it (archive members)."""
        if _CRASH_ON is not None and item.path == _CRASH_ON:
            # Fault injection for the crash tests: die as a native reader would.
            os.kill(os.getpid(), signal.SIGSEGV)
        record = base_record(item)
        if item.error is not None:
            yield record
            return
        try:
            stream = self._open(item)
        except Exception as exc:  # any reader failure is this item's outcome, not the scan's
            record.error = reason(exc)
            yield record
            return
        with stream:
            content = self._read(stream, record)
        if record.error is None and content is not None:
            self._signals(content, record)
        members: list[ItemRecord] = []
        if record.error is None and filetype.is_archive(record.content_type or ""):
            members = self._expand(item, record)
        elif record.error is None and embedded_zip(  # hostile: a zip with a prefix
                self._tail, record.size, lambda at, n: self._read_at(item, at, n)):
            members = self._expand(item, record, "application/zip")
        yield record
        yield from members

    def _expand(self, item: Item, record: ItemRecord, kind: str | None = None
                ) -> list[ItemRecord]:
        """Records of every member, at every depth; iter_archive does the nesting itself."""
        limits = ArchiveLimits(
            max_depth=self.settings.archive_max_depth,
            max_total_bytes=self.settings.archive_max_bytes,
            max_ratio=self.settings.archive_max_ratio,
        )
        members: list[ItemRecord] = []
        try:
            with self._open(item) as stream:
                for member in iter_archive(stream, item, kind or record.content_type or "",
                                           limits):
                    member_record = base_record(member.item)
                    if member.stream is not None:
                        content = self._read(member.stream, member_record)
                        if member_record.error is None and content is not None:
                            self._signals(content, member_record)
                    members.append(member_record)
        except Exception as exc:  # a corrupt or bombed archive is the outer item's outcome
            record.error = f"archive: {reason(exc)}"
        return members

    def _read_at(self, item: Item, offset: int, length: int) -> bytes:
        """`length` bytes of the item's content at `offset` (a zip's central directory that
        starts before the tail read kept); streams that cannot seek are read up to there."""
        with self._open(item) as stream:
            if stream.seekable():
                stream.seek(offset)
            else:
                left = offset
                while left > 0 and (skipped := len(stream.read(min(left, CHUNK)))):
                    left -= skipped
            return stream.read(length)

    def _open(self, item: Item) -> BinaryIO:
        if item.origin == "carved":
            _, offset, length = item.locator
            return io.BytesIO(self.evidence.read_range(offset, length))
        return self.evidence.open_item(item)

    def _read(self, stream: BinaryIO, record: ItemRecord) -> bytes | None:
        """Digest the whole stream in one read; keep the bytes when a content signal needs them."""
        hasher = DigestHasher(parallel=self.parallel_digests)
        kept: list[bytes] | None = None
        self._tail = b""
        try:
            first = stream.read(CHUNK)
            content_type = filetype.sniff(first[:HEAD])
            record.content_type = content_type
            record.extension_mismatch = filetype.extension_mismatch(record.path, content_type)
            self._signals(first[:HEAD_BYTES], record, head_only=True)
            wants = self._wants_content(content_type)
            if wants and record.size <= self.settings.max_content_bytes:
                kept = []
            chunk = first
            held = 0
            previous = last = b""
            while chunk:
                hasher.update(chunk)
                previous, last = last, chunk
                if kept is not None:
                    held += len(chunk)
                    # The declared size can lie (an archive member's header): cap what is held.
                    if held <= self.settings.max_content_bytes:
                        kept.append(chunk)
                    else:
                        kept = None
                chunk = stream.read(CHUNK)
            # The end of the content, where a zip's end record sits (see embedded_zip).
            short = ZIP_TAIL_BYTES - len(last)
            self._tail = last[-ZIP_TAIL_BYTES:] if short <= 0 else previous[-short:] + last
        except Exception as exc:
            record.error = f"read failed after {hasher.result().size} bytes: {reason(exc)}"
            return None
        digests = hasher.result()
        record.md5, record.sha1, record.sha256 = digests.md5, digests.sha1, digests.sha256
        if digests.size != record.size:
            if record.origin == "archive":
                # A gzip stream declares no reliable size (its trailer holds it modulo 4 GiB,
                # some writers leave 0); the archive reader checks zip and tar sizes and CRCs
                # itself. The size shown is what the member really holds.
                record.size = digests.size
            else:
                # A short read means the content is not what the metadata says: say so.
                record.error = f"read {digests.size} bytes, metadata says {record.size}"
        if wants and kept is None:
            record.signals["skipped"] = (
                f"larger than max_content_bytes ({self.settings.max_content_bytes})"
            )
        return b"".join(kept) if kept is not None else None

    def _wants_content(self, content_type: str) -> bool:
        return any(s.applies_to(content_type) for s in self.signals.values() if not s.head_only)

    def _signals(self, content: bytes, record: ItemRecord, head_only: bool = False) -> None:
        content_type = record.content_type or ""
        for name in sorted(self.signals):
            signal = self.signals[name]
            if signal.head_only != head_only or not signal.applies_to(content_type):
                continue
            try:
                value = self._compute(signal, content, content_type, record)
            except Exception as exc:  # malformed content is the item's outcome
                record.error = f"{name}: {reason(exc)}"
                continue
            if value is not None:
                record.signals[name] = value

    def _compute(
        self, signal: Any, content: bytes, content_type: str, record: ItemRecord
    ) -> dict[str, Any] | None:
        """A signal's value; for PDQ and vPDQ also the item's thumbnail, from the pixels the
        signal decoded anyway (`store.thumbnails`)."""
        stream = io.BytesIO(content)
        if self.settings.thumbnails and hasattr(signal, "compute_with_pixels"):
            value, pixels = signal.compute_with_pixels(stream, content_type)
            self._keep(record, lambda: picture_thumbnail(pixels))
            return cast(dict[str, Any] | None, value)
        if self.settings.thumbnails and hasattr(signal, "compute_with_frames"):
            sampler = FrameSampler()
            value = signal.compute_with_frames(stream, content_type, sampler)
            self._keep(record, sampler.thumbnail)
            return cast(dict[str, Any] | None, value)
        return cast(dict[str, Any] | None, signal.compute(stream, content_type))

    def _keep(self, record: ItemRecord, make: Callable[[], Thumbnail | None]) -> None:
        try:
            if _THUMBNAIL_FAILS_ON is not None and record.path == _THUMBNAIL_FAILS_ON:
                # Fault injection for the thumbnail-failure tests: the pixels are decoded (the
                # signal has its value), the encoder fails as Pillow's does.
                raise OSError("encoder error -2 when writing image file (injected fault)")
            thumbnail = make()
        except Exception as exc:
            # The item's hashes and findings stand without a thumbnail, and findings.json must
            # not depend on it: the reason is kept beside the thumbnails, not in the record,
            # and the gallery's tile says "no thumbnail: <reason>".
            self.thumbnails.append(ThumbnailFailure(record.key, reason(exc)))
            return
        if thumbnail is not None:
            self.thumbnails.append(KeyedThumbnail(record.key, thumbnail))

    def drop_thumbnails(self, key: str) -> None:
        """Forget the thumbnails of an item (and its members) whose record was replaced."""
        self.thumbnails = [
            t for t in self.thumbnails if t.key != key and not t.key.startswith(key + "!")
        ]
