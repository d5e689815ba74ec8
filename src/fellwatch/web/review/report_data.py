"""The exhibit report's numbers, from the grades in force and the findings as imported, handed
to the reports package's writer (HTML and PDF). Counted with the writer's own
`ExhibitCounts.add` and `location_of`, so report and grades cannot disagree."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.utils import timezone


def report_data(case: Any, exhibit: Any) -> Any:
    from fellwatch import TOOL_NAME
    from fellwatch.reports.exhibit_report import (
        EvidenceHash,
        ExhibitCounts,
        ExhibitReportData,
        Grader,
        HashSetUsed,
        location_of,
    )
    from fellwatch.web.records.models import CustodyAction, Finding
    from fellwatch.web.review.models import Grade, GradeAction

    counts = ExhibitCounts()
    findings = (Finding.objects.filter(case=case, scan__exhibit=exhibit,
                                       carved_duplicate=False).exclude(media="")
                .values_list("media", "grade", "pregrade", "needs_person", "known_bad",
                             "origin", "allocated"))
    for media, grade, pregrade, needs_person, known_bad, origin, allocated in \
            findings.iterator(chunk_size=5000):
        if not (needs_person or known_bad):
            continue  # a picture nobody needs to grade (no match, not offered for review)
        counts.add(media == "video", (grade or pregrade) or None,
                   location_of({"origin": origin, "allocated": allocated}))
    scans = list(exhibit.scans.order_by("imported_at", "pk"))
    latest = scans[-1] if scans else None
    sets: dict[tuple[str, str], Any] = {}
    for scan in scans:
        for h in scan.hashsets or []:
            key = (str(h.get("name")), str(h.get("version")))
            sets[key] = HashSetUsed(name=key[0], kind=str(h.get("kind", "")), version=key[1],
                                    entries=int(h.get("entries") or 0))
    evidence = []
    examined = list(exhibit.custody.filter(action=CustodyAction.EXAMINED).order_by("at", "pk"))
    for e in exhibit.evidence.all():
        # The scan import's custody entry of this evidence holds its hash after the scan.
        seen = [c.hash_after for c in examined
                if c.hash_before == e.sha256 and f" of {e.path}" in c.reason]
        evidence.append(EvidenceHash(path=e.path, sha256=e.sha256,
                                     sha256_after=seen[-1] if seen else None))
    graders = Counter(Grade.objects.filter(case=case, finding__scan__exhibit=exhibit,
                                           action=GradeAction.GRADE)
                      .values_list("by_name", flat=True))
    description = " ".join(x for x in (exhibit.get_type_display(), exhibit.make, exhibit.model,
                                       exhibit.serial and f"serial {exhibit.serial}",
                                       exhibit.seal_number and f"seal {exhibit.seal_number}")
                           if x)
    return ExhibitReportData(
        case_ref=case.reference, exhibit_ref=exhibit.reference, counts=counts,
        tool_name=TOOL_NAME, tool_version=latest.tool_version if latest else "",
        generated=timezone.localdate().isoformat(), exhibit_description=description,
        settings=dict(latest.settings) if latest else {},
        hashsets=sorted(sets.values(), key=lambda h: (h.name, h.version)),
        evidence=evidence,
        graders=[Grader(name=n, grades=k) for n, k in sorted(graders.items())],
    )


def write(case: Any, exhibit: Any, out_dir: Path) -> list[Path]:
    from fellwatch.reports.exhibit_report import write_html, write_pdf

    data = report_data(case, exhibit)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = f"exhibit-{case.reference}-{exhibit.reference}".replace("/", "-")
    html, pdf = out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"
    write_html(data, html)
    write_pdf(data, pdf)
    return [html, pdf]
