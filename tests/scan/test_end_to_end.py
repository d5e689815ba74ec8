"""`fellwatch scan` on the fixture disks and the demo: every planted file found where the
manifest says, deleted ones included, every expected match and no false one.

The manifest is the truth written by tests/fixtures/build.py and checked there against The
Sleuth Kit (fls, icat), independently of Fellwatch's own readers.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
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
    planted_md5 = {f["md5"] for f in files}
    # A carved object matches truly when its bytes are one of the planted pictures (a deleted
    # file found again, or a copy the file system left in free space).
    false = [
        i["path"]
        for i in findings["items"]
        if i["matches"]
        and i["path"] not in planted
        and not (i["origin"] == "carved" and i["md5"] in planted_md5)
    ]
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


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fellwatch", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )


def test_truncated_e01_is_a_one_line_refusal(fixture_images, tmp_path):
    bad = fixture_images.hostile("truncated-ewf")
    result = _cli("scan", str(fixture_images.path(bad["path"])), "--out", str(tmp_path / "o"))
    assert result.returncode == 3  # ExitCode.INPUT
    assert result.stderr.count("\n") == 1 and "fellwatch: " in result.stderr
    assert not (tmp_path / "o" / "findings.json").exists()


def test_e01_with_a_missing_segment_is_refused_naming_it(fixture_images, tmp_path):
    bad = fixture_images.hostile("ewf-missing-segment")
    result = _cli("scan", str(fixture_images.path(bad["path"])), "--out", str(tmp_path / "o"))
    assert result.returncode == 3  # ExitCode.INPUT
    assert bad["segment_missing"] in result.stderr


def test_bomb_and_deep_nesting_are_item_outcomes(fixture_images, tmp_path):
    folder = tmp_path / "ev"
    folder.mkdir()
    for kind in ("archive-bomb", "deep-nesting"):
        src = fixture_images.path(fixture_images.hostile(kind)["path"])
        (folder / src.name).write_bytes(src.read_bytes())
    report = scan([str(folder)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    errors = {i["path"]: i["error"] for i in report.findings["items"] if i["error"]}
    assert any("bomb" in e for p, e in errors.items() if p.startswith("/bomb.zip!")), errors
    assert any("nesting deeper" in e for e in errors.values()), errors
    assert report.findings["summary"]["items"] > 2


def test_ten_thousand_file_directory(fixture_images, tmp_path):
    wide = fixture_images.hostile("wide-directory")
    report = scan(
        [str(fixture_images.path(wide["path"]))],
        tmp_path / "o",
        ScanSettings(workers=2),
        progress=False,
    )
    assert report.findings["summary"]["items"] == wide["files"]
    assert report.findings["summary"]["errors"] == 0
