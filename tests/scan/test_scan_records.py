"""`fellwatch scan … --case REF --exhibit REF` records the scan against the exhibit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fellwatch.demo import EVIDENCE, HASHSETS

ROOT = Path(__file__).resolve().parents[2]


def _fellwatch(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FELLWATCH_DATA_DIR": str(data)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("FELLWATCH_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "fellwatch", *args], capture_output=True, text=True, env=env,
        check=False,
    )  # fmt: skip


def test_scan_is_recorded_against_the_exhibit(tmp_path):
    data = tmp_path / "data"
    cases = tmp_path / "cases.csv"
    cases.write_text("reference,opened_on,status,offence_types\nOP-1/24,2024-03-01,open,\n")
    exhibits = tmp_path / "exhibits.csv"
    exhibits.write_text(
        "case,reference,type,seized_at,seized_by,seized_where\n"
        "OP-1/24,JD/1,laptop,2024-03-02T09:30,DC Reed,1 Fell Road\n"
    )
    for kind, path in (("cases", cases), ("exhibits", exhibits)):
        done = _fellwatch(data, "records", "import-csv", kind, str(path), "--unit", "Cyber")
        assert done.returncode == 0, done.stderr

    args = ["scan", str(EVIDENCE), "--out", str(tmp_path / "out"), "--quiet"]
    for path in HASHSETS.values():
        args += ["--hashset", str(path)]
    wrong = _fellwatch(data, *args, "--case", "OP-1/24", "--exhibit", "JD/9")
    # Refused before the scan starts (ExitCode.INPUT): a typo costs a second, not a scan.
    assert wrong.returncode == 3
    assert wrong.stderr == "fellwatch: no exhibit 'JD/9' in case 'OP-1/24'\n"
    assert not (tmp_path / "out" / "findings.json").exists()

    done = _fellwatch(data, *args, "--case", "OP-1/24", "--exhibit", "JD/1", "--restart")
    assert done.returncode == 0, done.stderr
    assert "findings against JD/1 in OP-1/24" in done.stdout
    audit = _fellwatch(data, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_case_without_exhibit_is_refused(tmp_path):
    done = _fellwatch(tmp_path, "scan", str(EVIDENCE), "--out", str(tmp_path / "o"),
                      "--case", "OP-1/24")  # fmt: skip
    assert done.returncode == 2 and "--case and --exhibit go together" in done.stderr
