"""What a case's grades become: the VICS 2.0 export for CAID, suggestions from another tool's
VICS file, and the exhibit report. The numbers come from the database (grades in force,
findings as imported); the documents are written by the reports package's pure writers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse

from fellwatch.web.audit.log import record
from fellwatch.web.records.access import case_view, child_of
from fellwatch.web.records.models import Case, Exhibit, Finding, void_case_refusal
from fellwatch.web.review.config import grade_map


class OutputError(ValueError):
    """An output cannot be made as asked; one line."""


def _vics_grade_map() -> dict[str, int]:
    from fellwatch.reports.vics_export import load_grade_map

    path = getattr(settings, "VICS_GRADE_MAP_FILE", "")
    return load_grade_map(Path(path) if path else None)


def _file_path(exhibit_ref: str, f: dict[str, Any]) -> str:
    inner = str(f["path"]).lstrip("/")
    return "/".join(p for p in (exhibit_ref, f["partition"] or "", inner) if p)


def vics_media(case: Case, exhibit: Exhibit | None = None) -> Iterator[Any]:
    """One VicsMedia per picture (MD5, SHA-1) that has a grade: a person's (the latest entry of
    any of its copies), else its known set's (precategorized), in (MD5, SHA-1) order."""
    from fellwatch.reports.vics_export import VicsFile, VicsMedia

    qs = Finding.objects.filter(case=case).exclude(media="").exclude(md5="").exclude(sha1="")
    qs = qs.filter(~Q(grade="") | ~Q(pregrade="") | Q(known_bad=True))
    if exhibit is not None:
        qs = qs.filter(scan__exhibit=exhibit)
    rows = qs.order_by("md5", "sha1", "id").values(
        "md5", "sha1", "size", "grade", "pregrade", "category", "pdq", "pdq_quality", "path",
        "partition", "allocated", "origin", "scan__exhibit__reference")
    group: list[dict[str, Any]] = []

    def flush() -> Any:
        person = [r["grade"] for r in group if r["grade"]]
        pre = [r["pregrade"] or r["category"] for r in group]
        files = tuple(sorted({VicsFile(_file_path(r["scan__exhibit__reference"], r),
                                       deleted=not r["allocated"] and r["origin"] != "carved",
                                       unallocated=r["origin"] == "carved") for r in group},
                             key=lambda v: v.path))
        pdq = next((r["pdq"] for r in group if r["pdq"] and (r["pdq_quality"] or 0) >= 50),
                   None)
        return VicsMedia(md5=group[0]["md5"], sha1=group[0]["sha1"], size=group[0]["size"],
                         grade=person[-1] if person else next(p for p in pre if p),
                         pdq=pdq, precategorized=not person, files=files)

    for r in rows.iterator(chunk_size=2000):
        if group and (r["md5"], r["sha1"]) != (group[0]["md5"], group[0]["sha1"]):
            yield flush()
            group = []
        group.append(r)
    if group:
        yield flush()


def export_vics(case: Case, out: Any, exhibit: Exhibit | None = None) -> int:
    from fellwatch.reports.vics_export import VicsCase, write_vics

    return write_vics(out, VicsCase(case_id=case.reference, case_number=case.reference),
                      vics_media(case, exhibit), _vics_grade_map())


def import_vics(path: Path, case: Case) -> int:
    """Another tool's (or unit's) VICS file: its categories become suggestions on this case's
    pictures with the same SHA-1 or MD5, or a PDQ within the stack distance, naming the file;
    never grades. Returns how many findings got a suggestion."""
    from fellwatch.hashsets.base import HashSetError
    from fellwatch.hashsets.vics import read_suggestions
    from fellwatch.matching.pdq_index import hex_to_codes
    from fellwatch.web.review.stacks import cross_pairs

    if refusal := void_case_refusal(case.pk):  # a void case is read-only
        raise OutputError(refusal)
    gm = grade_map()
    exact: dict[str, str] = {}
    near: list[tuple[str, str]] = []
    try:
        for s in read_suggestions(path):
            if s.category is None:
                continue
            for digest in (s.sha1, s.md5):
                if digest:
                    exact.setdefault(digest, s.category)
            if s.pdq:
                near.append((s.pdq, s.category))
    except HashSetError as exc:
        raise OutputError(str(exc)) from exc
    changed = []
    findings = list(Finding.objects.filter(case=case).exclude(media="").only(
        "id", "md5", "sha1", "pdq", "pdq_quality", "suggestion", "suggestion_source"))
    by_pdq: dict[int, tuple[int, int]] = {}  # finding -> (bits, file's media): the nearest
    with_pdq = [i for i, f in enumerate(findings) if f.pdq and (f.pdq_quality or 0) >= 50]
    if near and with_pdq:
        for m, q, bits in cross_pairs(hex_to_codes([p for p, _ in near]),
                                      hex_to_codes([findings[i].pdq for i in with_pdq]),
                                      settings.REVIEW_STACK_DISTANCE):
            i = with_pdq[q]
            if i not in by_pdq or (bits, m) < by_pdq[i]:
                by_pdq[i] = (bits, m)
    for i, f in enumerate(findings):
        cat = exact.get(f.sha1) or exact.get(f.md5)
        how = "same digest"
        if cat is None and i in by_pdq:
            bits, m = by_pdq[i]
            cat, how = near[m][1], f"PDQ distance {bits}"
        if cat is None:
            continue
        f.suggestion = gm.from_vics_category.get(cat, "")
        f.suggestion_source = f"VICS file {path.name}: category {cat} ({how})"[:300]
        changed.append(f)
    Finding.objects.bulk_update(changed, ["suggestion", "suggestion_source"], batch_size=1000)
    return len(changed)


# --- the exhibit report ------------------------------------------------------------------------


def exhibit_counts(case: Case, exhibit: Exhibit) -> dict[str, Any]:
    """Counts per grade in force for still and moving images, and where they were found; a
    carved copy of a named file is the same picture and not counted again."""
    qs = Finding.objects.filter(case=case, scan__exhibit=exhibit, carved_duplicate=False)
    gm = grade_map()
    out: dict[str, Any] = {"by_grade": {}, "found": {}, "to_grade": 0}
    for grade in gm.grades:
        graded = Q(grade=grade) | Q(grade="", pregrade=grade)
        row = qs.filter(graded).aggregate(
            still=Count("id", filter=Q(media="picture")),
            moving=Count("id", filter=Q(media="video")),
            allocated=Count("id", filter=Q(allocated=True) & ~Q(origin="carved")),
            deleted=Count("id", filter=Q(allocated=False) & ~Q(origin="carved")),
            carved=Count("id", filter=Q(origin="carved")),
            archive=Count("id", filter=Q(in_archive=True)),
            pregraded=Count("id", filter=Q(grade="")),
        )
        out["by_grade"][grade] = row
    out["to_grade"] = qs.filter(needs_person=True, grade="").count()
    out["graders"] = sorted(set(Finding.objects.filter(case=case, scan__exhibit=exhibit)
                                .values_list("grades__by_name", flat=True)) - {None})
    return out


def exhibit_report(case: Case, exhibit: Exhibit, out_dir: Path) -> list[Path]:
    """Write the exhibit report (HTML and PDF) into `out_dir`; returns the files written."""
    from fellwatch.web.review import report_data

    return report_data.write(case, exhibit, out_dir)


# --- buttons -------------------------------------------------------------------------------------


@case_view()
def vics_download(request: HttpRequest, case: Case) -> HttpResponse:
    exhibit = None
    if request.GET.get("exhibit", "").isdigit():
        exhibit = child_of(request, case.exhibits.all(), "exhibit", int(request.GET["exhibit"]))
    buf = io.StringIO()
    n = export_vics(case, buf, exhibit)
    record("export", request=request, obj=case, detail={"case": case.pk, "format": "vics",
                                                        "media": n})
    response = HttpResponse(buf.getvalue(), content_type="application/json")
    name = case.reference.replace("/", "-")
    response["Content-Disposition"] = f'attachment; filename="{name}-vics.json"'
    return response


@case_view()
def exhibit_report_view(request: HttpRequest, case: Case, exhibit_id: int) -> HttpResponse:
    import tempfile

    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    kind = "pdf" if request.GET.get("format") == "pdf" else "html"
    with tempfile.TemporaryDirectory(prefix="fellwatch-report-") as tmp:
        files = exhibit_report(case, exhibit, Path(tmp))
        chosen = next(p for p in files if p.suffix == f".{kind}")
        data = chosen.read_bytes()
    record("export", request=request, obj=exhibit, detail={"case": case.pk,
                                                           "format": f"report-{kind}"})
    response = HttpResponse(data, content_type="application/pdf" if kind == "pdf"
                            else "text/html; charset=utf-8")
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    if kind == "pdf":
        name = f"{case.reference}-{exhibit.reference}".replace("/", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}-report.pdf"'
    return response


@case_view()
def vics_import_view(request: HttpRequest, case: Case) -> HttpResponse:
    """POST a VICS file (multipart `file`): its categories become suggestions in this case.
    GET: what the last imports were is in the audit log; this answers how to use it."""
    import tempfile

    from django.http import JsonResponse

    if request.method != "POST":
        return JsonResponse({"post": "multipart/form-data with a VICS 1.x or 2.0 JSON 'file'"})
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "no file"}, status=400)
    with tempfile.TemporaryDirectory(prefix="fellwatch-vics-") as tmp:
        path = Path(tmp) / Path(upload.name or "upload.json").name
        with path.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        try:
            n = import_vics(path, case)
        except OutputError as exc:  # a bad file, a void case
            return JsonResponse({"error": str(exc)}, status=400)
    record("import", request=request, obj=case, detail={"case": case.pk, "format": "vics",
                                                        "file": path.name, "suggestions": n})
    from django.contrib import messages
    from django.shortcuts import redirect

    messages.success(request, f"{n} findings have a suggestion from {path.name}.")
    return redirect("review-gallery", case_id=case.pk)
