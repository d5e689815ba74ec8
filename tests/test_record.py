"""The typed item record is findings-schema.md's ITEM, field for field, and round-trips."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from fellwatch.record import Candidate, ItemRecord, Match, RecordError

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "findings-schema.md"


def _documented_fields() -> set[str]:
    text = SCHEMA.read_text(encoding="utf-8")
    table = text[text.index("## ITEM") :]
    names: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+`) \|", table, flags=re.M):
        names.update(re.findall(r"`([a-z0-9_]+)`", row))
    return names


def test_record_fields_are_the_documented_item_fields() -> None:
    assert {f.name for f in fields(ItemRecord)} == _documented_fields()


def test_round_trip_and_refusal_of_unknown_fields() -> None:
    record = ItemRecord(
        evidence="ev.E01", key="p1/5", path="/DCIM/a.jpg", size=10, origin="filesystem",
        md5="m" * 32, signals={"pdq": {"hash": "0" * 64, "quality": 41}},
        matches=[Match("caid", "known-bad", "md5", "A", 0)],
        candidates=[Candidate("caid", "known-bad", "pdq", 41, "quality 41 below 50", "B", 8)],
        carved_duplicate_of=None,
    )  # fmt: skip
    data = record.to_json()
    assert "carved_duplicate_of" not in data  # only where set
    assert ItemRecord.from_json(data) == record
    assert data["candidates"] == [{"hashset": "caid", "set_kind": "known-bad", "kind": "pdq",
                                   "quality": 41, "reason": "quality 41 below 50",
                                   "category": "B", "distance": 8}]  # fmt: skip
    with pytest.raises(RecordError, match=r"does not know: \['colour'\]"):
        ItemRecord.from_json({**data, "colour": "red"})
    with pytest.raises(RecordError):
        ItemRecord.from_json({"key": "x"})


def test_a_real_scan_round_trips(tmp_path: Path) -> None:
    import json

    from fellwatch.demo import run_demo

    report = run_demo(tmp_path / "demo", progress=False)
    items = report.findings["items"]
    assert items
    for item in items:
        assert ItemRecord.from_json(item).to_json() == item
    assert report.summary == json.loads(report.findings_path.read_text())["summary"]


def test_every_evidence_field_of_a_real_scan_is_documented(tmp_path: Path) -> None:
    from fellwatch.demo import run_demo

    report = run_demo(tmp_path / "demo", progress=False)
    text = SCHEMA.read_text(encoding="utf-8")
    (entry,) = report.findings["evidence"]
    assert entry["format"] == "ewf" and entry["chunk_check"]["bad"] == []
    assert entry["chunk_check"]["chunks"] > 0
    for key in entry:
        assert f"`evidence[].{key}`" in text or f'"{key}"' in text or f"`{key}`" in text, key
    assert "`run.json` `evidence_hashes[].chunk_check`" in text
    said = report.run["evidence_hashes"][0]["chunk_check"]
    assert said == "computed in this run" or said.startswith("remembered from "), said
