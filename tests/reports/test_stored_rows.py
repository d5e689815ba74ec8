"""inventory.csv is streamed from the rows the store keeps beside each record, and the summary
counts unlisted records from columns: both must give what decoding every record gives."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from tests.reports.test_reports import BAD, _record

from fellwatch.record import ItemRecord
from fellwatch.reports.findings import summarise, write_outputs
from fellwatch.store.inventory import HEADER, INVENTORY_COLUMNS, inventory_line
from fellwatch.store.scanstore import ScanStore, encode_record


def _mixed() -> list[ItemRecord]:
    plain = _record("b", "=HYPERLINK(1).txt", sha256="cc")  # formula-like name, no finding
    plain.content_type = "text/plain"
    lead = _record("c", "/DCIM/gps.jpg", sha256="dd")
    lead.signals = {"exif": {"gps": {"lat": 51.5, "lon": -0.12}, "make": "Acme"}}
    unread = _record("d", "/locked.bin", sha256=None)
    unread.md5 = unread.sha1 = None
    carved = _record("carved/1", "carved/0001.jpg", origin="carved", sha256="aa")
    return [_record("a", "/DCIM/1.jpg", matches=[BAD]), plain, lead, unread, carved]


def _store(tmp_path: Path, records: list[ItemRecord]) -> ScanStore:
    store = ScanStore(tmp_path / "scan.sqlite")
    store.begin({"x": 1})
    for name in ("settings", "evidence", "hashsets"):
        store.set_meta(name, [] if name != "settings" else {})
    store.commit_batch(0, [r.key for r in records], records)
    store.mark_carved_duplicates()
    return store


def _decoded_inventory(store: ScanStore) -> str:
    return HEADER + "".join(inventory_line(r) for r in store.records())


def test_inventory_and_summary_equal_a_decode_of_every_record(tmp_path: Path) -> None:
    store = _store(tmp_path, _mixed())
    outputs = write_outputs(store, tmp_path)
    text = (tmp_path / "inventory.csv").read_bytes().decode("utf-8")
    assert text == _decoded_inventory(store)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == INVENTORY_COLUMNS and len(rows) == 5
    assert next(r for r in rows if r["sha256"] == "cc")["path"] == "'=HYPERLINK(1).txt"
    assert next(r for r in rows if r["path"] == "carved/0001.jpg")["carved_duplicate_of"] == (
        "/DCIM/1.jpg"
    )
    everything = summarise(store.records())
    assert outputs.summary == {**everything, "messages": 0, "conversations": 0,
                               "flagged_conversations": 0}  # fmt: skip
    assert everything["carved_duplicates"] == 1 and everything["items"] == 5
    # The EXIF lead is not listed in findings.json (nothing to review: not a picture type
    # here) but is still a lead in the report.
    assert [r.path for r in outputs.leads] == ["/DCIM/gps.jpg"]


def test_a_store_written_before_the_stored_rows_gets_them(tmp_path: Path) -> None:
    records = _mixed()
    path = tmp_path / "scan.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE records (evidence INTEGER NOT NULL, key TEXT NOT NULL, origin TEXT NOT "
        "NULL, sha256 TEXT, record TEXT NOT NULL, PRIMARY KEY (evidence, key));"
    )
    old.executemany(
        "INSERT INTO records VALUES (0, ?, ?, ?, ?)",
        [(r.key, r.origin, r.sha256, encode_record(r)) for r in records],
    )
    old.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (json.dumps({"x": 1}),))
    old.commit()
    old.close()
    store = ScanStore(path)
    in_order = sorted(records, key=lambda r: r.key)
    assert "".join(store.inventory_lines()) == "".join(inventory_line(r) for r in in_order)
    plain = [r for r in records if not r.listed()]
    assert store.plain_tally() == (len(plain), sum(r.size for r in plain if r.md5), 0)
