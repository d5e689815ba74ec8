"""Fixtures for the records web app: a throw-away data directory, users in each role, and a
small world of synthetic records. Every record here is invented."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import django
import pytest

# Before Django reads its settings: a data directory of this test process, and the settings
# module (pytest-django picks it up lazily, at the first database fixture).
if "FELLWATCH_DATA_DIR" not in os.environ:
    _data_dir = tempfile.mkdtemp(prefix="fellwatch-web-test-")
    atexit.register(shutil.rmtree, _data_dir, True)
    os.environ["FELLWATCH_DATA_DIR"] = _data_dir
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fellwatch.web.settings")
django.setup()


from django.contrib.auth.hashers import Argon2PasswordHasher  # noqa: E402  (after setup)


class QuickArgon2Hasher(Argon2PasswordHasher):
    """Argon2id at test cost: the same algorithm and format, a fraction of the time.
    The production parameters are Django's, checked in test_security."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1


@pytest.fixture(autouse=True)
def _quick_argon2(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["tests.web.conftest.QuickArgon2Hasher",
                                 *settings.PASSWORD_HASHERS]


@pytest.fixture
def make_user(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    from fellwatch.web.records.models import OffenceType, Officer, Unit

    # A transactional test (the browser's) empties every table, seeded reference data included.
    OffenceType.ensure_defaults()

    def make(username: str, role: str, unit: str = "Cyber Unit North",
             password: str | None = None) -> Any:
        user = get_user_model().objects.create_user(username=username, password=password)
        if role == "administrator":
            user.is_staff = user.is_superuser = True
            user.save()
        Officer.objects.create(user=user, unit=Unit.objects.get_or_create(name=unit)[0],
                               role=role)
        return user

    return make


def aware(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime(year, month, day, hour, minute))


@pytest.fixture
def world(make_user: Any) -> dict[str, Any]:
    """One unit's operation with one case and everything hanging from it, plus the people who
    may and may not see it. `other_case` belongs to another unit."""
    from fellwatch.web.records import models as m

    examiner = make_user("erin.examiner", "examiner")
    outsider = make_user("oscar.outsider", "examiner")
    supervisor = make_user("sam.supervisor", "supervisor")
    auditor = make_user("aud.auditor", "auditor")
    admin = make_user("ada.admin", "administrator")
    foreign = make_user("fred.foreign", "supervisor", unit="Cyber Unit South")
    unit = m.Unit.objects.get(name="Cyber Unit North")
    south = m.Unit.objects.get(name="Cyber Unit South")
    operation = m.Operation.objects.create(unit=unit, name="Op Heron", starts_on=date(2026, 3, 2),
                                           ends_on=date(2026, 3, 8), lead_officer="DI Lane")
    case = m.Case.objects.create(unit=unit, reference="CUN/2026/001", operation=operation,
                                 opened_on=date(2026, 3, 2), officer_in_charge=examiner)
    case.assigned.add(examiner)
    case.offence_types.set(m.OffenceType.objects.filter(code__in=["IIOC-MAKE", "IIOC-POSS"]))
    person = m.Person.objects.create(case=case, name="John Doe")
    warrant = m.SearchWarrant.objects.create(
        operation=operation, case=case, address="1 Example Road, Exampleton",
        issued_on=date(2026, 3, 1), executed_on=date(2026, 3, 3), result="seized")
    arrest = m.Arrest.objects.create(case=case, operation=operation, person=person,
                                     arrested_on=date(2026, 3, 3),
                                     offence=m.OffenceType.objects.get(code="IIOC-POSS"),
                                     outcome="rui")
    exhibit = m.Exhibit.objects.create(
        case=case, operation=operation, warrant=warrant, reference="JD/1", type="phone",
        make="Examplephone", model="X1", serial="SN-0001", seal_number="S000001",
        seized_from="John Doe", seized_where="1 Example Road", seized_at=aware(2026, 3, 3, 7, 5),
        seized_by="PC 1234")
    m.CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 3, 7, 5), by="PC 1234",
                                  action="seized", to_location="1 Example Road",
                                  reason="seizure", seal_intact=True, seal_number="S000001")
    safeguarding = m.SafeguardingRecord.objects.create(
        case=case, reference="C-2026-001", age_band="10-12", identified_how="device",
        action="referral", agency="Exampleton Children's Services", action_on=date(2026, 3, 4))
    other_case = m.Case.objects.create(unit=south, reference="CUS/2026/009",
                                       opened_on=date(2026, 2, 1))
    return {
        "examiner": examiner, "outsider": outsider, "supervisor": supervisor,
        "auditor": auditor, "admin": admin, "foreign": foreign, "unit": unit,
        "operation": operation, "case": case, "person": person, "warrant": warrant,
        "arrest": arrest, "exhibit": exhibit, "safeguarding": safeguarding,
        "other_case": other_case,
    }


def write_findings(out_dir: Path, evidence_path: str = "/evidence/JD-1.E01",
                   sha256: str = "a" * 64, sha256_after: str | None = None,
                   items: list[dict[str, Any]] | None = None) -> Path:
    """A synthetic scan output directory per docs/findings-schema.md (no real evidence)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if items is None:
        items = [
            _item(evidence_path, "0001", "/DCIM/a.jpg", category="A"),
            _item(evidence_path, "0002", "/DCIM/b.jpg", category="A"),
            _item(evidence_path, "0003", "/DCIM/c.jpg", category="C"),
            _item(evidence_path, "0004", "/Pictures/d.png", review=True),
            _item(evidence_path, "0005", "/Windows/e.jpg", known_good=True),
            _item(evidence_path, "0006", "/broken.jpg", error="truncated JPEG"),
        ]
    doc = {
        "schema": 1,
        "tool": {"name": "fellwatch", "version": "0.1.0"},
        "settings": {"pdq_threshold": 31},
        "evidence": [{"path": evidence_path, "sha256": sha256,
                      "sha256_after": sha256_after or sha256, "format": "ewf", "volumes": []}],
        "hashsets": [{"name": "demo", "kind": "known-bad", "format": "vics",
                      "version": "sha256:00 imported 2026-11-29", "entries": 3}],
        "summary": {"items": len(items), "bytes": 0, "matched": 3, "known_good": 1, "errors": 1,
                    "by_category": {"A": 2, "C": 1}},
        "items": items,
    }
    (out_dir / "findings.json").write_text(json.dumps(doc, sort_keys=True, indent=1))
    return out_dir


def _item(evidence: str, key: str, path: str, category: str | None = None,
          review: bool = False, known_good: bool = False, error: str | None = None) -> dict:
    digest = (key * 16)[:64]
    matches = []
    if category:
        matches = [{"hashset": "demo", "set_kind": "known-bad", "kind": "sha256",
                    "category": category, "distance": 0}]
    if known_good:
        matches = [{"hashset": "nsrl", "set_kind": "known-good", "kind": "sha1",
                    "category": None, "distance": 0}]
    return {
        "evidence": evidence, "key": key, "path": path, "path_spec": None, "partition": "p1",
        "inode": int(key), "offset": None, "size": 1000 + int(key), "allocated": True,
        "origin": "filesystem", "md5": None if error else digest[:32],
        "sha1": None if error else digest[:40], "sha256": None if error else digest,
        "content_type": "image/jpeg", "signals": {}, "matches": matches,
        "known_good": known_good, "review": review, "error": error,
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest test (the PostgreSQL run, a child pytest) first, so that under
    `pytest -n 2` it overlaps the rest instead of trailing behind it."""
    longest = [i for i in items
               if i.nodeid.endswith("test_model_and_statistics_suites_on_postgresql")]
    for item in longest:
        items.remove(item)
    items[:0] = longest
