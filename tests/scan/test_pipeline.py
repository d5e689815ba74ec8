"""The scan pipeline end to end on folder evidence: determinism, resume after SIGKILL, errors."""

import csv
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fellwatch.cli import main
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def evidence_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evidence")
    rng = random.Random(7)
    for d in range(6):
        sub = root / f"dir{d}"
        sub.mkdir()
        for f in range(50):
            (sub / f"file{f:03}.bin").write_bytes(rng.randbytes(rng.randint(0, 20_000)))
    (root / "dir0" / "dangling").symlink_to("/nonexistent")
    return root


def _scan_cli(evidence: Path, out: Path, *extra: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fellwatch",
            "scan",
            str(evidence),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def test_same_evidence_gives_byte_identical_findings(evidence_folder, tmp_path):
    a = scan([str(evidence_folder)], tmp_path / "a", ScanSettings(workers=2), progress=False)
    b = scan([str(evidence_folder)], tmp_path / "b", ScanSettings(workers=1), progress=False)
    assert (tmp_path / "a" / "findings.json").read_bytes() == (
        tmp_path / "b" / "findings.json"
    ).read_bytes()
    assert a.findings["summary"]["items"] == 301
    assert a.findings["summary"]["errors"] == 1
    assert b.findings["items"] == [
        item for item in b.findings["items"] if item["path"] == "/dir0/dangling"
    ]


def test_inventory_lists_every_item_with_digests(evidence_folder, tmp_path):
    scan([str(evidence_folder)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    with (tmp_path / "o" / "inventory.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 301
    row = next(r for r in rows if r["path"] == "/dir3/file007.bin")
    data = (evidence_folder / "dir3" / "file007.bin").read_bytes()
    assert row["md5"] == hashlib.md5(data).hexdigest()
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert int(row["size"]) == len(data)


def test_killed_scan_resumes_to_identical_findings(evidence_folder, tmp_path):
    whole = _scan_cli(evidence_folder, tmp_path / "whole", "--workers", "1")
    assert whole.returncode == 0, whole.stderr

    killed = _scan_cli(
        evidence_folder,
        tmp_path / "resumed",
        "--workers",
        "1",
        env={"FELLWATCH_FAULT_KILL_AFTER_BATCHES": "2", "FELLWATCH_TEST_FAULTS": "1"},
    )
    assert killed.returncode == -9  # SIGKILL, mid-scan
    with sqlite3.connect(tmp_path / "resumed" / "scan.sqlite") as db:
        partial = db.execute("SELECT count(*) FROM units").fetchone()[0]
    assert 0 < partial < 301

    resumed = _scan_cli(evidence_folder, tmp_path / "resumed", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    for name in ("findings.json", "inventory.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (
            tmp_path / "resumed" / name
        ).read_bytes()
    run = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert run["resumed"] is True
    assert run["items_this_run"] == 301 - partial


def test_other_scan_in_out_dir_is_refused(evidence_folder, tmp_path):
    assert _scan_cli(evidence_folder, tmp_path / "o").returncode == 0
    other = _scan_cli(evidence_folder / "dir1", tmp_path / "o")
    assert other.returncode == 3  # ExitCode.INPUT
    assert "holds a different scan" in other.stderr
    assert _scan_cli(evidence_folder / "dir1", tmp_path / "o", "--restart").returncode == 0


def test_unopenable_evidence_exits_non_zero_with_one_line(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "missing.E01"), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "evidence not found" in err


def test_dask_cluster_gives_the_same_findings(evidence_folder, tmp_path):
    scan([str(evidence_folder)], tmp_path / "local", ScanSettings(workers=1), progress=False)
    scan(
        [str(evidence_folder)],
        tmp_path / "dask",
        ScanSettings(workers=2),
        cluster="local",
        progress=False,
    )
    assert (tmp_path / "local" / "findings.json").read_bytes() == (
        tmp_path / "dask" / "findings.json"
    ).read_bytes()
    run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert run["workers"] == "local"
