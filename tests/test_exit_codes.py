"""One error model: every refusal is one line on stderr and an exit status from one table, and
everything a scan needs is checked before the first item is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fellwatch import cli
from fellwatch.errors import ExitCode, FellwatchError, reason
from fellwatch.settings import ScanSettings

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "a.txt").write_text("benign")
    return evidence


def _fellwatch(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fellwatch", *args],
        env={**os.environ, "PYTHONPATH": SRC, "FELLWATCH_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--archive-max-depth", "0", "--archive-max-depth must be between 1 and 64 (got 0)"),
        ("--pdq-threshold", "300", "--pdq-threshold must be between 0 and 64 (got 300)"),
        ("--archive-max-ratio", "0.5", "--archive-max-ratio must be between 1 and 100000"),
        ("--workers", "-1", "--workers must be between 0 and 256 (got -1)"),
    ],
)
def test_settings_out_of_range_are_refused_before_any_work(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str,
    message: str,
) -> None:
    out = tmp_path / "out"
    code = cli.main(["scan", str(folder), "--out", str(out), "--quiet", flag, value])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"fellwatch: {message}") and err.count("\n") == 1
    assert not out.exists()  # nothing was done


def test_every_setting_has_bounds_that_the_defaults_meet() -> None:
    from fellwatch.settings import describe_settings

    for s in describe_settings():
        # A file setting (chat_rules) has no range: it is checked by reading it, before any work.
        if not isinstance(s["default"], bool | str):
            assert s["bounds"] is not None, s["name"]
    ScanSettings()  # the defaults are valid


def test_a_bad_environment_value_is_refused(folder: Path, tmp_path: Path) -> None:
    done = _fellwatch(tmp_path, "scan", str(folder), "--out", str(tmp_path / "o"),
                      FELLWATCH_PDQ_THRESHOLD="many")  # fmt: skip
    assert done.returncode == ExitCode.USAGE
    assert done.stderr == "fellwatch: FELLWATCH_PDQ_THRESHOLD='many' is not a whole number\n"


def test_unknown_evidence_and_lone_case_flag(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.E01"
    assert cli.main(["scan", str(missing), "--out", str(tmp_path / "o")]) == ExitCode.INPUT
    assert capsys.readouterr().err.startswith("fellwatch: ")
    code = cli.main(["scan", str(folder), "--out", str(tmp_path / "o"), "--case", "C/1"])
    assert code == ExitCode.USAGE
    assert capsys.readouterr().err == "fellwatch: --case and --exhibit go together\n"


def test_unknown_exhibit_is_refused_before_the_scan(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    done = _fellwatch(tmp_path, "scan", str(folder), "--out", str(out), "--quiet",
                      "--case", "CUN/2026/404", "--exhibit", "XX/1")  # fmt: skip
    assert done.returncode == ExitCode.INPUT, done.stderr
    assert done.stderr == "fellwatch: no exhibit 'XX/1' in case 'CUN/2026/404'\n"
    assert not (out / "findings.json").exists()


def test_a_bug_exits_internal_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("synthetic bug")

    monkeypatch.setattr(cli, "_hashset_list", broken)
    assert cli.main(["hashset", "list"]) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: synthetic bug" in err


def test_reason_is_one_line() -> None:
    assert reason(FellwatchError("as written")) == "as written"
    assert reason(ValueError("first\nsecond")) == "ValueError: first"
    assert reason(KeyError()) == "KeyError"
