"""findings.json, inventory.csv and run.json, written from the scan store only.

findings.json is deterministic: keys sorted, items in (evidence, key) order, no wall-clock time.
Everything that varies from run to run (times, durations, host) goes to run.json.

Nothing here decides what an item is: matches, candidates, `known_good`, `review` and
`carved_duplicate_of` were decided by the scan and are only counted and written. The outputs are
streamed over the store, so memory does not grow with the number of items.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fellwatch import TOOL_NAME, __version__
from fellwatch.chats.store import chat_counts
from fellwatch.record import ItemRecord
from fellwatch.store.inventory import HEADER, is_lead
from fellwatch.store.private import touch_private, write_private_text
from fellwatch.store.scanstore import ScanStore

SCHEMA_VERSION = 1

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

    def add_plain(self, items: int, hashed_bytes: int, carved_duplicates: int) -> None:
        """Records findings.json does not list (`ScanStore.plain_tally`): `add` of each of
        them counts only these three."""
        self.items += items
        self.bytes += hashed_bytes
        self.carved_duplicates += carved_duplicates

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


def write_inventory(store: ScanStore, path: Path) -> None:
    """inventory.csv: every item scanned, one row each (the hashdeep-style full listing),
    streamed from the rows the store keeps beside each record."""
    touch_private(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER)
        fh.writelines(store.inventory_lines())


@dataclass
class ScanOutputs:
    """What one pass over the store gives the reports: the summary and the HTML's lists."""

    summary: dict[str, Any]
    head: dict[str, Any]
    matched: list[ItemRecord]
    errors: list[ItemRecord]
    leads: list[ItemRecord]


def write_outputs(store: ScanStore, out_dir: Path) -> ScanOutputs:
    """inventory.csv and findings.json from the store, streamed: the inventory from the rows
    the store keeps, the summary from the records findings.json lists plus one count of the
    others, then findings.json. Returns what report.html and the CLI summary show."""
    write_inventory(store, out_dir / "inventory.csv")
    summary = Summary()
    summary.add_plain(*store.plain_tally())
    matched: list[ItemRecord] = []
    errors: list[ItemRecord] = []
    leads: list[ItemRecord] = []
    for r in store.records(listed_only=True, leads=True):
        if r.listed():  # the others (EXIF leads only) are in the plain tally already
            summary.add(r)
            if r.categories():
                matched.append(r)
            if r.error:
                errors.append(r)
        if is_lead(r):
            leads.append(r)
    head = findings_head(store, summary.to_json())
    write_findings(head, store.records(listed_only=True), out_dir / "findings.json")
    return ScanOutputs(head["summary"], head, matched, errors, leads)


def write_run_record(path: Path, run: dict[str, Any]) -> None:
    write_private_text(path, json.dumps(run, sort_keys=True, indent=1) + "\n")
