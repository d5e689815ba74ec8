"""Grading: append a decision for one or more findings of a case, keep `Finding.grade` the
latest grade in force, and let every graded picture join the unit's seen-before library."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from fellwatch.web.records.models import Case, Finding, void_case_refusal
from fellwatch.web.review.config import grade_map
from fellwatch.web.review.models import Grade, GradeAction, LibraryEntry

SOURCES = ("gallery", "stack", "bulk", "api", "library", "vics")


class GradeError(ValueError):
    """A grade that cannot be taken; the message says why (shown to the user as is)."""


def latest_grader(finding: Finding) -> str | None:
    last = finding.grades.filter(action=GradeAction.GRADE).order_by("-at", "-pk").first()
    return last.by_name if last is not None else None


def apply(
    case: Case,
    finding_ids: Sequence[int],
    *,
    action: str,
    grade: str = "",
    note: str = "",
    user: Any = None,
    by_name: str | None = None,
    source: str = "gallery",
) -> list[Grade]:
    """Append one entry per finding. `grade` needs a grade; `confirm` is a second reviewer
    agreeing with the grade in force; `dispute` says they do not (a note is needed, a grade
    proposed is optional). Unknown finding ids of this case are refused as a whole."""
    gm = grade_map()
    if action not in GradeAction.values:
        raise GradeError(f"unknown action {action!r}")
    if source not in SOURCES:
        raise GradeError(f"unknown source {source!r}")
    if grade and grade not in gm.grades:
        raise GradeError(f"unknown grade {grade!r}: one of {', '.join(gm.grades)}")
    if action == GradeAction.GRADE and not grade:
        raise GradeError("a grade is needed")
    if action == GradeAction.DISPUTE and not note.strip():
        raise GradeError("a dispute needs a note saying why")
    ids = sorted({int(i) for i in finding_ids})
    if not ids:
        raise GradeError("no findings named")
    if refusal := void_case_refusal(case.pk):  # a void case is read-only, its grades too
        raise GradeError(refusal)
    name = by_name or (user.get_username() if user is not None else "system")
    with transaction.atomic():
        findings = list(Finding.objects.select_for_update().filter(case=case, id__in=ids))
        if len(findings) != len(ids):
            raise GradeError("not every finding named is in this case")
        entries = []
        for f in findings:
            if action == GradeAction.CONFIRM:
                if not f.effective_grade:
                    raise GradeError(f"finding {f.pk} has no grade to confirm")
                if latest_grader(f) == name:
                    raise GradeError("a confirmation is a second reviewer's")
                grade = grade or f.effective_grade
            entries.append(Grade(case=case, finding=f, by=user, by_name=name, action=action,
                                 grade=grade, note=note[:1000], source=source))
        Grade.objects.bulk_create(entries)
        if action == GradeAction.GRADE:
            Finding.objects.filter(id__in=ids).update(grade=grade)
            _into_library(case, findings, grade, name)
    return entries


def _into_library(case: Case, findings: list[Finding], grade: str, name: str) -> None:
    now = timezone.now()
    for f in findings:
        if not f.sha1 or not f.media:
            continue
        LibraryEntry.objects.update_or_create(
            unit_id=case.unit_id, sha1=f.sha1, case_reference=case.reference,
            defaults={"md5": f.md5, "pdq": f.pdq if (f.pdq_quality or 0) >= 50 else "",
                      "grade": grade, "by_name": name, "at": now, "finding": f})


def stack_members(case: Case, finding: Finding) -> list[int]:
    if finding.stack is None:
        return [finding.pk]
    return list(Finding.objects.filter(case=case, stack=finding.stack)
                .order_by("id").values_list("id", flat=True))


def disputed(case: Case) -> list[Finding]:
    """Findings whose latest entry is a dispute: the supervisor's list."""
    out = []
    for f in Finding.objects.filter(case=case, grades__action=GradeAction.DISPUTE).distinct():
        last = f.grades.order_by("-at", "-pk").first()
        if last is not None and last.action == GradeAction.DISPUTE:
            out.append(f)
    return out
