"""Records, chain of custody, audit chain, scan and CSV import. Runs against SQLite here and
against a real PostgreSQL server through test_postgres.py (the same file, unchanged)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.web.conftest import aware, write_findings


def tamper(sql: str, params: list[Any]) -> None:
    """Change the audit table behind the application's back. On PostgreSQL the database
    refuses first; the tamperer then drops the trigger, as a DBA could (rolled back with the
    test's transaction)."""
    from django.db import DatabaseError, transaction

    if connection.vendor == "postgresql":
        with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
              connection.cursor() as cursor):
            cursor.execute(sql, params)
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER auditentry_append_only")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_custody_is_append_only(world: dict[str, Any]) -> None:
    from fellwatch.web.audit.models import AppendOnlyError

    entry = world["exhibit"].custody.get()
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert world["exhibit"].custody.get().reason == "seizure"
    if connection.vendor == "postgresql":  # the database refuses too, whoever asks
        from django.db import DatabaseError, transaction

        for sql in ("UPDATE records_custodyentry SET reason = 'x'",
                    "DELETE FROM records_custodyentry"):
            with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
                  connection.cursor() as cursor):
                cursor.execute(sql)


def test_every_save_of_case_data_is_audited(world: dict[str, Any]) -> None:
    from fellwatch.web.audit.models import AuditEntry

    created = set(AuditEntry.objects.filter(action="create")
                  .values_list("object_type", flat=True))
    assert {"operation", "case", "person", "searchwarrant", "arrest", "exhibit",
            "custodyentry", "safeguardingrecord"} <= created
    case = world["case"]
    case.status = "closed"
    case.closed_on = date(2026, 6, 1)
    case.save()
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    assert (last.action, last.object_type, last.object_id) == ("change", "case", str(case.pk))


def test_audit_chain_holds_and_names_the_first_tampered_entry(world: dict[str, Any]) -> None:
    from fellwatch.web.audit.log import verify
    from fellwatch.web.audit.models import AppendOnlyError, AuditEntry

    verdict = verify()
    assert verdict.ok, verdict
    total = AuditEntry.objects.count()
    assert verdict.entries == total > 10
    victim = AuditEntry.objects.order_by("seq")[5]
    with pytest.raises(AppendOnlyError):
        victim.save()
    with pytest.raises(AppendOnlyError):
        victim.delete()
    # Tampering goes round the application, straight to the table.
    tamper("UPDATE audit_auditentry SET username = %s WHERE seq = %s",
           ["someone.else", victim.seq])
    verdict = verify()
    assert not verdict.ok
    assert verdict.broken_seq == victim.seq
    assert "content" in verdict.reason


def test_audit_chain_notices_a_deleted_entry(world: dict[str, Any]) -> None:
    from fellwatch.web.audit.log import verify
    from fellwatch.web.audit.models import AuditEntry

    victim = AuditEntry.objects.order_by("seq")[3]
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [victim.seq])
    verdict = verify()
    assert verdict.broken_seq == victim.seq
    assert "missing" in verdict.reason


def test_audit_chain_notices_a_deleted_tail(world: dict[str, Any]) -> None:
    from fellwatch.web.audit.log import verify
    from fellwatch.web.audit.models import AuditEntry

    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [last.seq])
    verdict = verify()
    assert verdict.broken_seq == last.seq


def test_import_scan_dir_records_evidence_scan_findings_and_custody(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from fellwatch.web.records.models import CustodyEntry, Scan
    from fellwatch.web.scans import category_counts, import_scan_dir

    out = write_findings(tmp_path / "scan1", sha256="b" * 64)
    assert import_scan_dir(out, "CUN/2026/001", "JD/1", user="erin.examiner") == 6
    scan = Scan.objects.get()
    assert scan.exhibit == world["exhibit"]
    assert scan.imported_by == "erin.examiner"
    assert [(e.path, e.sha256) for e in scan.evidence.all()] == [
        ("/evidence/JD-1.E01", "b" * 64)]
    assert category_counts(scan) == {"A": 2, "C": 1, "error": 1, "known good": 1,
                                     "needs review": 1}
    examined = CustodyEntry.objects.get(exhibit=world["exhibit"], action="examined")
    assert (examined.hash_before, examined.hash_after) == ("b" * 64, "b" * 64)
    assert examined.by == "erin.examiner"


def test_import_scan_dir_refuses_bad_input_and_records_nothing(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from fellwatch.web.records.models import Finding, Scan
    from fellwatch.web.scans import ScanImportError, import_scan_dir

    with pytest.raises(ScanImportError, match="cannot be read"):
        import_scan_dir(tmp_path / "nowhere", "CUN/2026/001", "JD/1")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "findings.json").write_text('{"schema": 99}')
    with pytest.raises(ScanImportError, match="schema 99"):
        import_scan_dir(bad, "CUN/2026/001", "JD/1")
    (bad / "findings.json").write_text("{not json")
    with pytest.raises(ScanImportError, match="not JSON"):
        import_scan_dir(bad, "CUN/2026/001", "JD/1")
    good = write_findings(tmp_path / "good")
    with pytest.raises(ScanImportError, match="no exhibit"):
        import_scan_dir(good, "CUN/2026/001", "JD/99")
    import_scan_dir(good, "CUN/2026/001", "JD/1")
    with pytest.raises(ScanImportError, match="imported before"):
        import_scan_dir(good, "CUN/2026/001", "JD/1")
    assert Scan.objects.count() == 1
    assert Finding.objects.count() == 6


def test_changed_evidence_hash_is_flagged_in_custody(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from fellwatch.web.records.models import CustodyEntry
    from fellwatch.web.scans import import_scan_dir

    import_scan_dir(write_findings(tmp_path / "s", sha256="c" * 64, sha256_after="d" * 64),
                    "CUN/2026/001", "JD/1")
    entry = CustodyEntry.objects.get(action="examined")
    assert (entry.hash_before, entry.hash_after) == ("c" * 64, "d" * 64)
    assert "HASH CHANGED" in entry.reason


def _csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


def test_csv_import_of_a_past_operation(db: Any, tmp_path: Path) -> None:
    from fellwatch.web.records.csv_import import import_csv
    from fellwatch.web.records.models import Arrest, Case, CustodyEntry, Exhibit, Operation

    unit = "Cyber Unit North"
    assert import_csv("operations", _csv(tmp_path / "o.csv", """
name,starts_on,ends_on,lead_officer,notes
Op Kestrel,2025-05-12,2025-05-18,DI Moss,week of action
"""), unit) == 1
    assert import_csv("cases", _csv(tmp_path / "c.csv", """
reference,opened_on,closed_on,status,operation,offence_types
CUN/2025/010,2025-05-12,2025-11-30,Closed,Op Kestrel,IIOC-MAKE;GROOM
CUN/2025/011,2025-05-13,,open,Op Kestrel,FRAUD
"""), unit) == 2
    assert import_csv("warrants", _csv(tmp_path / "w.csv", """
operation,case,address,issued_on,executed_on,result
Op Kestrel,CUN/2025/010,2 Sample Street,2025-05-10,2025-05-12,
Op Kestrel,,3 Sample Street,2025-05-10,,
"""), unit) == 2
    assert import_csv("arrests", _csv(tmp_path / "a.csv", """
case,person,arrested_on,offence,outcome
CUN/2025/010,Richard Roe,2025-05-12,IIOC-MAKE,Released under investigation
CUN/2025/011,Mary Major,2025-05-13,FRAUD,charged
"""), unit) == 2
    assert import_csv("exhibits", _csv(tmp_path / "e.csv", """
case,reference,type,make,model,serial,seal_number,seized_from,seized_where,seized_at,seized_by
CUN/2025/010,RR/1,laptop,Examplebook,Pro,SN1,S1,Richard Roe,2 Sample Street,2025-05-12T07:30,PC 1
CUN/2025/010,RR/2,USB stick,,,,S2,Richard Roe,2 Sample Street,2025-05-12T07:40,PC 1
"""), unit) == 2
    assert import_csv("custody", _csv(tmp_path / "cu.csv", """
case,exhibit,at,by,action,from,to,reason,seal_intact,seal_number,hash_before,hash_after
CUN/2025/010,RR/1,2025-05-12T12:00,PC 1,moved,2 Sample Street,Store A,booked in,yes,S1,,
"""), unit) == 1
    assert Operation.objects.get().name == "Op Kestrel"
    closed = Case.objects.get(reference="CUN/2025/010")
    assert closed.status == "closed"
    assert sorted(closed.offence_types.values_list("code", flat=True)) == ["GROOM", "IIOC-MAKE"]
    assert Arrest.objects.get(person__name="Richard Roe").outcome == "rui"
    assert Exhibit.objects.get(reference="RR/2").type == "usb"
    assert list(CustodyEntry.objects.filter(exhibit__reference="RR/1")
                .values_list("action", flat=True)) == ["seized", "moved"]


def test_csv_import_is_all_or_nothing_and_names_bad_lines(db: Any, tmp_path: Path) -> None:
    from fellwatch.web.records.csv_import import CsvImportError, import_csv
    from fellwatch.web.records.models import Operation

    path = _csv(tmp_path / "o.csv", """
name,starts_on,ends_on,lead_officer
Op Good,2025-01-01,,DI One
Op Bad Date,01/02/2025,,DI Two
Op No Lead,2025-03-01,,
""")
    with pytest.raises(CsvImportError) as info:
        import_csv("operations", path, "Cyber Unit North")
    message = str(info.value)
    assert "nothing imported" in message
    assert "line 3: starts_on: '01/02/2025' is not YYYY-MM-DD" in message
    assert "line 4: lead_officer is empty" in message
    assert Operation.objects.count() == 0
    with pytest.raises(CsvImportError, match="unknown columns colour"):
        import_csv("operations", _csv(tmp_path / "x.csv", "name,colour\nOp X,red"), "U")


def test_exhibit_reference_is_unique_within_a_case(world: dict[str, Any]) -> None:
    from django.db import IntegrityError, transaction

    from fellwatch.web.records.models import Exhibit

    with pytest.raises(IntegrityError), transaction.atomic():
        Exhibit.objects.create(case=world["case"], reference="JD/1", type="usb",
                               seized_at=aware(2026, 3, 3, 8, 0), seized_by="PC 1234")
    # The same reference in another case is another exhibit.
    Exhibit.objects.create(case=world["other_case"], reference="JD/1", type="usb",
                           seized_at=aware(2026, 3, 3, 8, 0), seized_by="PC 9")


def test_assigning_an_officer_to_a_case_is_audited(world: dict[str, Any]) -> None:
    from fellwatch.web.audit.actor import acting_as
    from fellwatch.web.audit.models import AuditEntry

    case, outsider = world["case"], world["outsider"]
    with acting_as("sam.supervisor"):
        case.assigned.add(outsider)
        outsider.assigned_cases.remove(case)
    entries = list(AuditEntry.objects.filter(object_type="case", object_id=str(case.pk),
                                             username="sam.supervisor").order_by("seq"))
    assert [e.detail for e in entries] == [
        f'{{"action":"add","case":{case.pk},"field":"assigned","ids":[{outsider.pk}],'
        f'"what":"case CUN/2026/001 assigned added"}}',
        f'{{"action":"remove","case":{case.pk},"field":"assigned","ids":[{outsider.pk}],'
        f'"what":"case CUN/2026/001 assigned removed"}}',
    ]


WRITER = """
import sys
from fellwatch.web.bootstrap import ensure_django
ensure_django()
from fellwatch.web.audit.log import record
for i in range(15):
    record("view", username="writer" + sys.argv[1], object_type="case", object_id=str(i))
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    """Officers act at the same time: the log stays one chain, no number twice or missing.
    PostgreSQL: four threads on the test database. SQLite: four processes on a store file
    with the production settings (the in-memory test database cannot be shared that way)."""
    if connection.vendor == "postgresql":
        _threads_write(4)
        from fellwatch.web.audit.log import verify

        verdict = verify()
        assert verdict.ok and verdict.entries == 60, verdict
        return
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FELLWATCH_", "DJANGO_", "PYTEST_"))}
    env.update({"FELLWATCH_DATA_DIR": str(tmp_path), "PYTHONPATH": str(root / "src")})
    migrate = [sys.executable, "-c",
               "from fellwatch.web.bootstrap import ensure_django; ensure_django(migrate=True)"]
    subprocess.run(migrate, env=env, check=True, timeout=300)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(n)], env=env,
                                stderr=subprocess.PIPE, text=True) for n in range(4)]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    done = subprocess.run([sys.executable, "-m", "fellwatch", "audit", "verify"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "intact: 60 entries" in done.stdout


def _threads_write(n_threads: int) -> None:
    import threading

    from django.db import connections

    from fellwatch.web.audit.log import record

    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                record("view", username=f"writer{n}", object_type="case", object_id=str(i))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_the_migrations_match_the_models(db: Any) -> None:
    """Every model change ships with its migration (a store is only ever migrated)."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
