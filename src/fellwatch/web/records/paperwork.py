"""Court and hand-over paperwork drawn from the records: an exhibit list per case (in the
manner of the MG12), a continuity statement per exhibit from its chain of custody, and exhibit
labels with a QR code of the case, the reference and the seal number. Each is a page (HTML),
a PDF (the same page printed by headless Chromium) and, for the lists, a CSV.

Nothing here is typed in: every line comes from the records as they stand, void records left
out, so the paperwork and the case page never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from fellwatch.web.audit.log import record
from fellwatch.web.records.access import case_view, child_of, role_of
from fellwatch.web.records.models import Case, Exhibit

# A cell a spreadsheet would run as a formula (CSV injection, OWASP): these first characters.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading formula character is escaped
    with an apostrophe (the convention spreadsheets themselves use)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


def _local(at: Any) -> str:
    return f"{timezone.localtime(at):%d/%m/%Y %H:%M}" if at else ""


def describe(exhibit: Exhibit) -> str:
    parts = [exhibit.get_type_display(), exhibit.make, exhibit.model]
    text = " ".join(p for p in parts if p)
    return f"{text}, serial {exhibit.serial}" if exhibit.serial else text


def exhibit_rows(case: Case) -> list[dict[str, str]]:
    return [{
        "reference": e.reference,
        "description": describe(e),
        "seized_from": e.seized_from,
        "seized_where": e.seized_where,
        "seized_at": _local(e.seized_at),
        "seized_by": e.seized_by,
        "seal_number": e.seal_number,
    } for e in case.exhibits.filter(voided_at__isnull=True).order_by("reference_sort", "pk")]


EXHIBIT_COLUMNS = [("reference", "Reference"), ("description", "Description"),
                   ("seized_from", "Seized from"), ("seized_where", "Where"),
                   ("seized_at", "When"), ("seized_by", "By whom"),
                   ("seal_number", "Seal number")]


def continuity_rows(exhibit: Exhibit) -> list[dict[str, str]]:
    return [{
        "at": _local(c.at), "by": c.by, "action": c.get_action_display(),
        "from": c.from_location, "to": c.to_location, "reason": c.reason,
        "seal_intact": {True: "yes", False: "NO", None: "not recorded"}[c.seal_intact],
        "seal_number": c.seal_number, "hash_before": c.hash_before, "hash_after": c.hash_after,
    } for c in exhibit.custody.all()]


CONTINUITY_COLUMNS = [("at", "Date and time"), ("by", "By"), ("action", "Action"),
                      ("from", "From"), ("to", "To"), ("reason", "Reason"),
                      ("seal_intact", "Seal intact"), ("seal_number", "Seal number"),
                      ("hash_before", "SHA-256 before"), ("hash_after", "SHA-256 after")]


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no picture file, no script), error correction M."""
    return str(segno.make(text, error="m", micro=False).svg_inline(scale=3, border=2))


def label_text(case: Case, exhibit: Exhibit) -> str:
    return f"{case.reference} {exhibit.reference} SEAL {exhibit.seal_number or '-'}"


def _css() -> str:
    found = finders.find("fellwatch/paper.css")
    return Path(str(found)).read_text(encoding="utf-8") if found else ""


def html_to_pdf(html: str) -> bytes:
    """The page as PDF, printed by headless Chromium (Playwright) with no network: the page
    is given as content and holds everything it shows (inline CSS, inline SVG)."""
    from playwright.sync_api import sync_playwright

    executable = settings.CHROMIUM
    if not Path(executable).exists():
        raise RuntimeError(f"{executable} is missing: PDF paperwork needs Chromium "
                           "(scripts/setup-system.sh)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--disable-component-update", "--disable-sync"])
        try:
            context = browser.new_context(offline=True, java_script_enabled=False)
            page = context.new_page()
            page.set_content(html, wait_until="load")
            pdf: bytes = page.pdf(format="A4", print_background=True,
                                  margin={"top": "15mm", "bottom": "15mm", "left": "12mm",
                                          "right": "12mm"})
        finally:
            browser.close()
    return pdf


def _respond(request: HttpRequest, template: str, context: dict[str, Any], fmt: str,
             name: str) -> HttpResponse:
    if fmt == "pdf":
        html = render_to_string(template, {**context, "pdf": True, "base": "records/paper_pdf.html",
                                           "inline_css": mark_safe(_css())})
        response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    return render(request, template, {**context, "base": "records/base.html",
                                      "role": role_of(request.user)})


def _csv_response(
    name: str, columns: list[tuple[str, str]], rows: list[dict[str, str]]
) -> HttpResponse:
    text = csv_text([label for _, label in columns], ([r[k] for k, _ in columns] for r in rows))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _filename(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


@case_view()
def exhibit_list(request: HttpRequest, case: Case, fmt: str = "html") -> HttpResponse:
    rows = exhibit_rows(case)
    record("view", request=request, obj=case, detail={"page": "exhibit list", "format": fmt})
    name = f"exhibit-list-{_filename(case.reference)}"
    if fmt == "csv":
        return _csv_response(name, EXHIBIT_COLUMNS, rows)
    return _respond(request, "records/paper_exhibit_list.html",
                    {"case": case, "rows": rows, "columns": EXHIBIT_COLUMNS,
                     "made": timezone.localtime()}, fmt, name)


@case_view()
def continuity(request: HttpRequest, case: Case, exhibit_id: int,
               fmt: str = "html") -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    rows = continuity_rows(exhibit)
    record("view", request=request, obj=exhibit,
           detail={"case": case.pk, "page": "continuity", "format": fmt})
    name = f"continuity-{_filename(case.reference)}-{_filename(exhibit.reference)}"
    if fmt == "csv":
        return _csv_response(name, CONTINUITY_COLUMNS, rows)
    return _respond(request, "records/paper_continuity.html",
                    {"case": case, "exhibit": exhibit, "description": describe(exhibit),
                     "rows": rows, "columns": CONTINUITY_COLUMNS,
                     "made": timezone.localtime()}, fmt, name)


@case_view()
def labels(request: HttpRequest, case: Case, fmt: str = "html") -> HttpResponse:
    if fmt not in ("html", "pdf"):
        raise Http404("labels are HTML or PDF")
    exhibits = case.exhibits.filter(voided_at__isnull=True).order_by("reference_sort", "pk")
    record("view", request=request, obj=case, detail={"page": "labels", "format": fmt})
    items = [{"exhibit": e, "description": describe(e), "text": label_text(case, e),
              "qr": mark_safe(qr_svg(label_text(case, e)))}
             for e in exhibits]
    return _respond(request, "records/paper_labels.html", {"case": case, "items": items},
                    fmt, f"labels-{_filename(case.reference)}")
