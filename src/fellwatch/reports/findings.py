"""findings.json, inventory.csv and run.json, written from the scan store only.

findings.json is deterministic: keys sorted, items in (evidence, key) order, no wall-clock time.
Everything that varies from run to run (times, durations, host) goes to run.json.

Nothing here decides what an item is: matches, candidates, `known_good`, `review` and
`carved_duplicate_of` were decided by the scan and are only counted and written. The outputs are
streamed over the store, so memory does not grow with the number of items.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fellwatch import TOOL_NAME, __version__
from fellwatch.chats.store import chat_counts
from fellwatch.record import ItemRecord
from fellwatch.store.private import touch_private, write_private_text
from fellwatch.store.scanstore import ScanStore

SCHEMA_VERSION = 1

INVENTORY_COLUMNS = (
    "evidence", "path", "size", "allocated", "origin", "partition", "inode", "offset",
    "md5", "sha1", "sha256", "content_type", "extension_mismatch", "categories", "known_good",
    "review", "candidates", "carved_duplicate_of", "error", "mtime", "camera", "camera_serial",
    "taken", "gps", "path_spec",
)  # fmt: skip


def exif_lead(record: ItemRecord) -> dict[str, str]:
    """Camera, serial, date taken and GPS of a picture, as text (empty when absent)."""
    exif = record.signals.get("exif") or {}
    gps = exif.get("gps") or {}
    camera = " ".join(str(exif[k]) for k in ("make", "model") if exif.get(k))
    serial = exif.get("serial") or ""
    return {
        "camera": camera,
        "camera_serial": str(serial),
        "taken": str(exif.get("datetime_original") or ""),
        "gps": f"{gps['lat']:.6f},{gps['lon']:.6f}" if "lat" in gps and "lon" in gps else "",
    }


def is_lead(record: ItemRecord) -> bool:
    """A picture whose EXIF can tie it to a place or a device: victim-identification lead."""
    lead = exif_lead(record)
    return bool(lead["gps"] or lead["camera_serial"])


@dataclass
class Summary:
    """The counts every output of a scan gives (findings.json `summary`, the CLI, the web)."""

    items: int = 0
    bytes: int = 0
    matched: int = 0
    known_good: int = 0
    errors: int = 0
    review: int = 0
    candidates: int = 0
    carved_duplicates: int = 0
    by_category: Counter[str] = field(default_factory=Counter)

    def add(self, r: ItemRecord) -> None:
        self.items += 1
        self.bytes += r.size if r.md5 else 0
        if not r.counted():
            self.carved_duplicates += 1
            return
        cats = r.categories()
        if cats:
            self.matched += 1
            self.by_category.update(cats)
        self.known_good += r.known_good
        self.errors += r.error is not None
        self.review += r.review
        self.candidates += bool(r.candidates) and not r.known_bad

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "bytes": self.bytes,
            "matched": self.matched,
            "known_good": self.known_good,
            "errors": self.errors,
            "review": self.review,
            "candidates": self.candidates,
            "carved_duplicates": self.carved_duplicates,
            "by_category": dict(sorted(self.by_category.items())),
        }


def summarise(records: Iterable[ItemRecord]) -> dict[str, Any]:
    summary = Summary()
    for r in records:
        summary.add(r)
    return summary.to_json()


def findings_head(store: ScanStore, summary: dict[str, Any]) -> dict[str, Any]:
    """findings.json without its `items`."""
    return {
        "schema": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "settings": store.get_meta("settings"),
        "evidence": store.get_meta("evidence"),
        "hashsets": store.get_meta("hashsets"),
        "summary": {**summary, **chat_counts(store.path)},
    }


def build_findings(store: ScanStore) -> dict[str, Any]:
    """findings.json as one object, in memory (for tests and small scans; the scan streams)."""
    head = findings_head(store, summarise(store.records()))
    return {**head, "items": [r.to_json() for r in store.records() if r.listed()]}


def write_findings(
    head: dict[str, Any], items: Iterable[ItemRecord], path: Path
) -> None:
    """Stream findings.json: the same bytes as json.dumps of the whole object with sort_keys and
    indent=1, without ever holding every item."""
    skeleton = json.dumps({**head, "items": []}, sort_keys=True, indent=1, ensure_ascii=False)
    before, after = skeleton.split('"items": []', 1)
    touch_private(path)  # owner-only, like everything in the scan folder
    with path.open("w", encoding="utf-8") as fh:
        fh.write(before + '"items": [')
        first = True
        for record in items:
            text = json.dumps(record.to_json(), sort_keys=True, indent=1, ensure_ascii=False)
            fh.write(("\n" if first else ",\n") + _indent(text, "  "))
            first = False
        fh.write("]" if first else "\n ]")
        fh.write(after + "\n")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.split("\n"))


def _cell(value: object) -> object:
    # A name that starts like a formula must not run as one when the CSV is opened in a
    # spreadsheet; the leading apostrophe is the spreadsheet convention for "text".
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


class InventoryWriter:
    """inventory.csv: every item scanned, one row each (the hashdeep-style full listing)."""

    def __init__(self, fh: TextIO) -> None:
        self._writer = csv.writer(fh)
        self._writer.writerow(INVENTORY_COLUMNS)

    def write(self, r: ItemRecord) -> None:
        lead = exif_lead(r)
        self._writer.writerow(
            _cell(v)
            for v in [
                r.evidence,
                r.path,
                r.size,
                r.allocated,
                r.origin,
                r.partition or "",
                "" if r.inode is None else r.inode,
                "" if r.offset is None else r.offset,
                r.md5 or "",
                r.sha1 or "",
                r.sha256 or "",
                r.content_type or "",
                r.extension_mismatch,
                ";".join(r.categories()),
                r.known_good,
                r.review,
                len(r.candidates),
                r.carved_duplicate_of or "",
                r.error or "",
                r.times.get("mtime", ""),
                lead["camera"],
                lead["camera_serial"],
                lead["taken"],
                lead["gps"],
                r.path_spec or "",
            ]
        )


def write_inventory(store: ScanStore, path: Path) -> None:
    touch_private(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = InventoryWriter(fh)
        for r in store.records():
            writer.write(r)


@dataclass
class ScanOutputs:
    """What one pass over the store gives the reports: the summary and the HTML's lists."""

    summary: dict[str, Any]
    head: dict[str, Any]
    matched: list[ItemRecord]
    errors: list[ItemRecord]
    leads: list[ItemRecord]


def write_outputs(store: ScanStore, out_dir: Path) -> ScanOutputs:
    """inventory.csv and findings.json from the store, in two streamed passes (every record,
    then the listed ones). Returns what report.html and the CLI summary show."""
    summary = Summary()
    matched: list[ItemRecord] = []
    errors: list[ItemRecord] = []
    leads: list[ItemRecord] = []
    touch_private(out_dir / "inventory.csv")
    with (out_dir / "inventory.csv").open("w", newline="", encoding="utf-8") as fh:
        inventory = InventoryWriter(fh)
        for r in store.records():
            inventory.write(r)
            summary.add(r)
            if r.categories():
                matched.append(r)
            if r.error:
                errors.append(r)
            if is_lead(r):
                leads.append(r)
    head = findings_head(store, summary.to_json())
    write_findings(head, _listed(store), out_dir / "findings.json")
    return ScanOutputs(head["summary"], head, matched, errors, leads)


def _listed(store: ScanStore) -> Iterator[ItemRecord]:
    return store.records(listed_only=True)


def write_run_record(path: Path, run: dict[str, Any]) -> None:
    write_private_text(path, json.dumps(run, sort_keys=True, indent=1) + "\n")
