"""`fellwatch scan` on the fixture disks and the demo: every planted file found where the
manifest says, deleted ones included, every expected match and no false one.

The manifest is the truth written by tests/fixtures/build.py and checked there against The
Sleuth Kit (fls, icat), independently of Fellwatch's own readers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from fellwatch.demo import DEMO_DIR, run_demo
from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings

SETS = ("vics2", "vics13", "hashdeep", "md5sum", "nsrl")


def _display_path(f: dict[str, Any], partitioned: bool) -> str:
    return f"/{f['partition']}{f['path']}" if partitioned and f["partition"] else f["path"]


def _inventory(out: Path) -> dict[str, dict[str, str]]:
    with (out / "inventory.csv").open(newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def assert_matches_manifest(out: Path, files: list[dict[str, Any]], partitioned: bool) -> None:
    rows = _inventory(out)
    findings = json.loads((out / "findings.json").read_text())
    listed = {i["path"]: i for i in findings["items"]}
    for f in files:
        path = _display_path(f, partitioned)
        assert path in rows, f"planted file not found: {path}"
        row = rows[path]
        assert row["allocated"] == str(f["allocated"]), path
        if not f["recoverable"]:
            # The content is gone from this name: it must not be claimed with other bytes.
            assert row["error"] or row["size"] == "0" or row["md5"] == f["md5"], path
            assert path not in listed or not listed[path]["matches"], path
            continue
        assert row["md5"] == f["md5"], path
        assert row["sha256"] == f["sha256"], path
        expected = sorted({(h["set"], h["kind"]) for h in f["in_hashsets"]})
        got = sorted(
            {(m["hashset"], m["set_kind"]) for m in listed.get(path, {}).get("matches", [])}
        )
        assert got == expected, path
    planted = {_display_path(f, partitioned) for f in files}
    false = [i["path"] for i in findings["items"] if i["matches"] and i["path"] not in planted]
    assert false == [], f"matches on files that were not planted: {false}"


@pytest.fixture(scope="module")
def hashset_store(fixture_images, tmp_path_factory) -> HashSetStore:
    store = HashSetStore(tmp_path_factory.mktemp("data") / "hashsets")
    for name in SETS:
        store.import_file(fixture_images.hashset(name), name=name)
    return store


@pytest.mark.parametrize(
    "image",
    [
        "mbr.raw",
        "gpt.raw",
        "mbr.E01",
        "gpt.E01",
        "mbr.split.E01",
        "mbr.qcow2",
        "mbr.vhd",
        "mbr.vmdk",
        "folder",
    ],
)
def test_every_planted_file_and_match(fixture_images, hashset_store, tmp_path, image):
    info = fixture_images.image(image)
    scan(
        [str(fixture_images.path(image))],
        tmp_path / "out",
        ScanSettings(workers=2, carve=False),
        hashsets=SETS,
        store=hashset_store,
        progress=False,
    )
    assert_matches_manifest(tmp_path / "out", info["files"], partitioned=info["scheme"] is not None)


def test_demo_gives_exactly_the_expected_findings(tmp_path):
    expected = json.loads((DEMO_DIR / "expected.json").read_text())
    report = run_demo(tmp_path / "demo", progress=False)
    assert_matches_manifest(tmp_path / "demo", expected["files"], partitioned=True)
    summary = report.findings["summary"]
    assert (summary["matched"], summary["known_good"], summary["review"]) == (7, 4, 4)
    assert summary["errors"] == 0
    for ev in report.findings["evidence"]:
        assert ev["sha256"] == ev["sha256_after"]
