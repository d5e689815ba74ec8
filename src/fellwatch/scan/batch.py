"""The units of work that travel between the scan's main process and its workers.

Apart from scan.worker so that the main process, which only hands batches out and commits
what comes back, does not import what a worker reads and decodes with (Pillow, pdqhash, the
carvers, the archive readers): the main process's imports are paid before the first batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from fellwatch.errors import reason
from fellwatch.evidence import ByteRange, Item
from fellwatch.record import ItemRecord
from fellwatch.settings import ScanSettings
from fellwatch.store.scanstore import Stored
from fellwatch.store.thumbnails import ThumbnailOutcome


@dataclass
class Batch:
    """Work for one worker: items to read, or byte ranges to carve (each range is one unit)."""

    evidence_index: int
    evidence_path: str
    items: list[Item]
    settings: ScanSettings
    ranges: list[ByteRange] = field(default_factory=list)

    def unit_keys(self) -> list[str]:
        return [item.key for item in self.items] + [range_key(r) for r in self.ranges]

    # Items travel as tuples of their field values, like records (see BatchResult).
    def __getstate__(self) -> tuple[object, ...]:
        items = [_item_values(i) for i in self.items]
        return (self.evidence_index, self.evidence_path, items, self.settings, self.ranges)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.evidence_index, self.evidence_path, items, self.settings, self.ranges = state
        self.items = [Item(*values) for values in items]


# One C call per object for all its field values, in field order (the constructor's order).
_item_values = attrgetter(*(f.name for f in fields(Item)))


def range_key(byte_range: ByteRange) -> str:
    return f"range/{byte_range.offset:016x}"


@dataclass
class BatchResult:
    evidence_index: int
    unit_keys: list[str]
    records: list[ItemRecord] = field(default_factory=list)
    bytes_read: int = 0
    # Beside the records, not in them: findings.json must not change with thumbnails (nor
    # with a thumbnail's failure, kept beside them too).
    thumbnails: list[ThumbnailOutcome] = field(default_factory=list)
    # Each record's stored forms (its JSON, its inventory.csv row), made here in the worker (in
    # parallel) before matching; the main process makes them again only for the records
    # matching changed (see scan.dispatch).
    encoded: list[Stored] = field(default_factory=list)

    # On the wire between processes a record travels as the tuple of its field values: half
    # the pickling cost of a slots dataclass (measured in docs/performance.md).
    def __getstate__(self) -> tuple[object, ...]:
        records = [_record_values(r) for r in self.records]
        return (self.evidence_index, self.unit_keys, records, self.bytes_read, self.encoded,
                self.thumbnails)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (self.evidence_index, self.unit_keys, records, self.bytes_read, self.encoded,
         self.thumbnails) = state
        self.records = [ItemRecord(*values) for values in records]


_record_values = attrgetter(*(f.name for f in fields(ItemRecord)))


def range_error_record(evidence: str, byte_range: ByteRange, exc: BaseException) -> ItemRecord:
    """The recorded outcome of a byte range whose carving stopped part-way."""
    item = Item(
        evidence=evidence,
        path=f"carving/{byte_range.offset:012x}-{byte_range.offset + byte_range.length:012x}",
        key=range_key(byte_range),
        size=byte_range.length,
        origin="carved",
        allocated=False,
        partition=byte_range.partition,
        offset=byte_range.offset,
        error=f"carving of this {byte_range.kind} range stopped: {reason(exc)}",
    )
    return base_record(item)


def base_record(item: Item) -> ItemRecord:
    return ItemRecord(
        evidence=item.evidence,
        key=item.key,
        path=item.path,
        size=item.size,
        origin=item.origin,
        allocated=item.allocated,
        path_spec=item.path_spec,
        partition=item.partition,
        inode=item.inode,
        offset=item.offset,
        times=dict(sorted(item.times.items())),
        error=item.error,
    )
