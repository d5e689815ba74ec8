"""`fellwatch audit verify`, `fellwatch records import-scan|import-csv`: in this process against
the test database, and end to end as the real command on a fresh data directory."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from fellwatch.cli import main
from fellwatch.errors import ExitCode
from tests.web.conftest import write_findings

ROOT = Path(__file__).resolve().parents[2]


def test_audit_verify_names_the_first_broken_entry(world: Any, capsys: Any) -> None:
    from fellwatch.web.audit.models import AuditEntry

    assert main(["audit", "verify"]) == 0
    assert "audit log intact" in capsys.readouterr().out
    victim = AuditEntry.objects.order_by("seq")[7]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET detail = %s WHERE seq = %s",
                       ['{"case":4242}', victim.seq])
    assert main(["audit", "verify"]) == ExitCode.INCOMPLETE
    assert f"broken at entry #{victim.seq}:" in capsys.readouterr().err


def test_records_import_scan(world: Any, tmp_path: Path, capsys: Any) -> None:
    out = write_findings(tmp_path / "scan")
    args = ["records", "import-scan", str(out), "--case", "CUN/2026/001", "--exhibit", "JD/1",
            "--user", "erin.examiner"]
    assert main(args) == 0
    assert "recorded 6 findings against exhibit JD/1" in capsys.readouterr().out
    assert main(args) == ExitCode.INPUT
    assert "imported before" in capsys.readouterr().err


def _fellwatch(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FELLWATCH_", "DJANGO_", "PYTEST_"))}
    env.update({"FELLWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT / "src")})
    return subprocess.run([sys.executable, "-m", "fellwatch", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_the_real_command_on_a_fresh_store_detects_tampering(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv_file = tmp_path / "operations.csv"
    csv_file.write_text("name,starts_on,ends_on,lead_officer\n"
                        "Op One,2025-01-06,2025-01-12,DI A\nOp Two,2025-06-02,,DI B\n")
    done = _fellwatch(data, "records", "import-csv", "operations", str(csv_file),
                      "--unit", "Cyber Unit North", "--user", "ada.admin")
    assert done.returncode == 0, done.stderr
    assert "imported 2 operations" in done.stdout
    assert (data / "records.sqlite3").is_file()
    # (An intact chain passing `audit verify` is tested in this process, above.)
    with sqlite3.connect(data / "records.sqlite3") as db:
        # the unit and the two operations
        assert db.execute("SELECT count(*) FROM audit_auditentry").fetchone() == (3,)
        db.execute("UPDATE audit_auditentry SET username = 'nobody' WHERE seq = 2")
    done = _fellwatch(data, "audit", "verify")
    assert done.returncode == ExitCode.INCOMPLETE
    assert "broken at entry #2:" in done.stderr


def test_records_add_user(db: Any, monkeypatch: Any, capsys: Any) -> None:
    import io

    from django.contrib.auth import get_user_model

    monkeypatch.setattr("sys.stdin", io.StringIO("a synthetic passphrase 77\n"))
    assert main(["records", "add-user", "ann.auditor", "--role", "auditor",
                 "--unit", "Cyber Unit North", "--password-stdin"]) == 0
    user = get_user_model().objects.get(username="ann.auditor")
    assert user.officer.role == "auditor" and user.check_password("a synthetic passphrase 77")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["records", "add-user", "bob", "--role", "examiner", "--unit", "U",
                 "--password-stdin"]) == ExitCode.USAGE
    assert "too short" in capsys.readouterr().err
