"""Seen before: the unit's library of graded pictures suggests grades in a new case, exact
(SHA-1) or near (PDQ within the stack distance), naming where each grade came from. Grades a
supervisor made final are applied to exact copies without anybody looking at them."""

from __future__ import annotations

from typing import Any


def _source(entry: Any, how: str) -> str:
    return (f"seen before ({how}): graded {entry.grade} by {entry.by_name} on "
            f"{entry.at:%Y-%m-%d} in case {entry.case_reference}")[:300]


def suggest_from_library(scan: Any) -> int:
    """Suggestions (and final grades) for a newly imported scan's pictures; returns how many."""
    from django.conf import settings

    from fellwatch.matching.pdq_index import hex_to_codes
    from fellwatch.web.records.models import Finding
    from fellwatch.web.review.grading import apply
    from fellwatch.web.review.models import LibraryEntry
    from fellwatch.web.review.stacks import cross_pairs

    case = scan.exhibit.case
    library = LibraryEntry.objects.filter(unit_id=case.unit_id).exclude(
        case_reference=case.reference)
    if not library.exists():
        return 0
    findings = list(scan.findings.exclude(media="").filter(carved_duplicate=False)
                    .only("id", "sha1", "pdq", "pdq_quality", "suggestion", "grade"))
    by_sha1: dict[str, Any] = {}
    sha1s = sorted({f.sha1 for f in findings if f.sha1})
    for a in range(0, len(sha1s), 500):
        for e in library.filter(sha1__in=sha1s[a:a + 500]).order_by("at", "pk"):
            by_sha1[e.sha1] = e  # the latest entry wins
    changed: list[Any] = []
    final: dict[tuple[str, str], list[int]] = {}
    near: list[Any] = []
    for f in findings:
        e = by_sha1.get(f.sha1)
        if e is not None:
            f.suggestion, f.suggestion_source = e.grade, _source(e, "the same SHA-1")
            changed.append(f)
            if e.final and not f.grade:
                final.setdefault((e.grade, e.case_reference), []).append(f.pk)
        elif f.pdq and (f.pdq_quality or 0) >= 50:
            near.append(f)
    with_pdq = list(library.exclude(pdq="").order_by("at", "pk"))
    if near and with_pdq:
        best: dict[int, tuple[int, int]] = {}  # finding -> (bits, -entry): nearest, then latest
        for e, q, bits in cross_pairs(hex_to_codes([e.pdq for e in with_pdq]),
                                      hex_to_codes([f.pdq for f in near]),
                                      settings.REVIEW_STACK_DISTANCE):
            if q not in best or (bits, -e) < best[q]:
                best[q] = (bits, -e)
        for q, (bits, neg) in best.items():
            f, e = near[q], with_pdq[-neg]
            f.suggestion = e.grade
            f.suggestion_source = _source(e, f"PDQ distance {bits}")
            changed.append(f)
    Finding.objects.bulk_update(changed, ["suggestion", "suggestion_source"], batch_size=1000)
    for (grade, ref), ids in final.items():
        apply(case, ids, action="grade", grade=grade, by_name=f"library (case {ref})",
              source="library", note="a final grade of the unit's library (same SHA-1)")
    return len(changed)



def make_final(unit: Any, sha1s: list[str] | None = None) -> int:
    """A supervisor's decision: these library grades (all of the unit's, or those SHA-1s) are
    final for exact copies in later cases. Returns how many entries it made final."""
    from fellwatch.web.review.models import LibraryEntry

    qs = LibraryEntry.objects.filter(unit=unit, final=False)
    if sha1s is not None:
        qs = qs.filter(sha1__in=sha1s)
    return qs.update(final=True)
