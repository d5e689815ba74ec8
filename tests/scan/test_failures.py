"""A failure inside a worker costs what failed, never the scan, and is never silent."""

from __future__ import annotations

import csv
import json

import pytest

import fellwatch.scan.executors as executors
import fellwatch.scan.worker as worker
from fellwatch.demo import EVIDENCE
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings


def _named(findings):
    return {i["path"]: i["md5"] for i in findings["items"] if i["origin"] != "carved"}


def test_a_carver_that_breaks_costs_its_range_only(tmp_path, monkeypatch):
    whole = scan([str(EVIDENCE)], tmp_path / "w", ScanSettings(workers=1), progress=False)
    real_carve = worker.carve

    def breaking_carve(read, ranges, evidence, settings=None):
        yield from real_carve(read, ranges, evidence, settings)
        raise RuntimeError("carver bug")

    monkeypatch.setattr(worker, "carve", breaking_carve)
    report = scan([str(EVIDENCE)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    stopped = [i for i in report.findings["items"] if "range stopped" in (i["error"] or "")]
    assert stopped and all("carver bug" in i["error"] for i in stopped)
    assert all(i["key"].startswith("range/") for i in stopped)
    # Everything the file system names was still scanned, and the pictures carved before the
    # failure were kept.
    assert _named(report.findings) == _named(whole.findings)
    assert _carved(tmp_path / "o") and _carved(tmp_path / "o") == _carved(tmp_path / "w")


def _carved(out):
    with (out / "inventory.csv").open(newline="") as fh:
        return {r["md5"] for r in csv.DictReader(fh) if r["origin"] == "carved" and r["md5"]}


def test_a_failed_batch_is_reported_and_retried_by_the_next_run(tmp_path, monkeypatch):
    real = executors.run_batch
    calls = {"n": 0}

    def dies_once(batch, parallel_digests=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise MemoryError("worker ran out of memory")
        return real(batch)

    monkeypatch.setattr(executors, "run_batch", dies_once)
    first = scan([str(EVIDENCE)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    assert first.run["incomplete_batches"] == 1
    assert "MemoryError: worker ran out of memory" in first.run["incomplete_reasons"]
    assert first.findings["summary"]["items"] < 19

    second = scan([str(EVIDENCE)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    assert second.run["incomplete_batches"] == 0 and second.run["resumed"]
    whole = scan([str(EVIDENCE)], tmp_path / "w", ScanSettings(workers=1), progress=False)
    assert second.findings == whole.findings


def test_cli_exits_1_when_batches_failed(tmp_path, monkeypatch, capsys):
    from fellwatch.cli import main

    def always_dies(batch, parallel_digests=None):
        raise OSError("worker lost")

    monkeypatch.setattr(executors, "run_batch", always_dies)
    code = main(["scan", str(EVIDENCE), "--out", str(tmp_path / "o"), "--quiet", "--workers", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "run the same command again" in err and "OSError: worker lost" in err
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["incomplete_batches"] >= 1


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FELLWATCH_DATA_DIR", str(tmp_path / "data"))


def test_an_item_that_crashes_its_worker_is_recorded_and_the_scan_goes_on(tmp_path):
    """A real SIGSEGV in a worker process (fault injection), with a worker per core."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path / "ev"
    for d in range(3):
        (folder / f"d{d}").mkdir(parents=True)
        for f in range(100):
            (folder / f"d{d}" / f"f{f:03}.bin").write_bytes(f"{d}/{f}".encode() * 50)
    src = str(Path(__file__).resolve().parents[2] / "src")

    def run(out, **env):
        return subprocess.run(
            [sys.executable, "-m", "fellwatch", "scan", str(folder), "--out", str(out),
             "--quiet", "--workers", "2"],
            env={**os.environ, "PYTHONPATH": src, **env}, capture_output=True, text=True,
            check=False,
        )  # fmt: skip

    crashed = run(
        tmp_path / "c", FELLWATCH_FAULT_CRASH_ON_PATH="/d1/f042.bin", FELLWATCH_TEST_FAULTS="1"
    )
    assert crashed.returncode == 0, crashed.stderr
    # Without the test switch the fault variable is inert: no crash, nothing recorded.
    inert = run(tmp_path / "i", FELLWATCH_FAULT_CRASH_ON_PATH="/d1/f042.bin")
    assert inert.returncode == 0, inert.stderr
    assert "crashed" not in (tmp_path / "i" / "inventory.csv").read_text()
    whole = run(tmp_path / "w")
    assert whole.returncode == 0, whole.stderr
    with (tmp_path / "c" / "inventory.csv").open(newline="") as fh:
        got = {r["path"]: r for r in csv.DictReader(fh)}
    with (tmp_path / "w" / "inventory.csv").open(newline="") as fh:
        want = {r["path"]: r for r in csv.DictReader(fh)}
    assert got.keys() == want.keys() and len(got) == 300
    assert "worker process crashed" in got["/d1/f042.bin"]["error"]
    assert got["/d1/f042.bin"]["md5"] == ""
    for path, row in want.items():
        if path != "/d1/f042.bin":
            assert got[path]["md5"] == row["md5"] and got[path]["error"] == "", path
