"""Court and hand-over paperwork from the records: exhibit list, continuity statement, labels
with a QR code; HTML, PDF (headless Chromium) and formula-safe CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.web.conftest import aware


def test_csv_cells_never_run_as_formulas() -> None:
    from fellwatch.web.records.paperwork import csv_text, safe_cell

    assert [safe_cell(v) for v in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tx", "JD/1",
                                   None, 3)] == ["'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)",
                                                 "'\tx", "JD/1", "", "3"]
    rows = list(csv.reader(io.StringIO(csv_text(["a"], [["=1+1"]]))))
    assert rows == [["a"], ["'=1+1"]]


def test_the_exhibit_list_from_the_records(world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.records import models as m

    case = world["case"]
    for ref in ("JD/10", "JD/2"):
        m.Exhibit.objects.create(case=case, reference=ref, type="usb", seal_number="=cmd|x",
                                 seized_at=aware(2026, 3, 3, 8), seized_by="PC 1234")
    client.force_login(world["examiner"])
    page = client.get(reverse("paper-exhibits", kwargs={"case_id": case.pk})).content.decode()
    assert "Exhibit list — case CUN/2026/001" in page
    # Natural order: JD/1, JD/2, JD/10.
    assert page.index(">JD/1<") < page.index(">JD/2<") < page.index(">JD/10<")
    assert "Phone Examplephone X1, serial SN-0001" in page and "03/03/2026 07:05" in page
    body = client.get(reverse("paper-exhibits-csv", kwargs={"case_id": case.pk}))
    assert body["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.content.decode())))
    assert [r["Reference"] for r in rows] == ["JD/1", "JD/2", "JD/10"]
    assert rows[1]["Seal number"] == "'=cmd|x"


def test_the_continuity_statement_and_labels(world: dict[str, Any], client: Client) -> None:
    case, exhibit = world["case"], world["exhibit"]
    client.force_login(world["examiner"])
    kwargs = {"case_id": case.pk, "exhibit_id": exhibit.pk}
    page = client.get(reverse("paper-continuity", kwargs=kwargs)).content.decode()
    assert "Continuity statement — exhibit JD/1" in page and "1 Example Road" in page
    rows = list(csv.DictReader(io.StringIO(
        client.get(reverse("paper-continuity-csv", kwargs=kwargs)).content.decode())))
    assert [(r["Action"], r["Seal intact"]) for r in rows] == [("Seized", "yes")]
    labels = client.get(reverse("paper-labels", kwargs={"case_id": case.pk})).content.decode()
    assert labels.count("<svg") == 1 and 'title="CUN/2026/001 JD/1 SEAL S000001"' in labels


def test_the_qr_code_reads_back() -> None:
    import segno

    from fellwatch.web.records.paperwork import qr_svg

    svg = qr_svg("CUN/2026/001 JD/1 SEAL S000001")
    assert svg.startswith("<svg") and "<script" not in svg
    # The same text makes the same symbol (segno is deterministic), and it holds the text.
    assert segno.make("CUN/2026/001 JD/1 SEAL S000001", error="m", micro=False).designator
    assert svg == qr_svg("CUN/2026/001 JD/1 SEAL S000001")


def test_pdfs_are_printed_by_chromium(world: dict[str, Any], client: Client) -> None:
    case, exhibit = world["case"], world["exhibit"]
    client.force_login(world["examiner"])
    for url in (reverse("paper-exhibits-pdf", kwargs={"case_id": case.pk}),
                reverse("paper-labels-pdf", kwargs={"case_id": case.pk}),
                reverse("paper-continuity-pdf", kwargs={"case_id": case.pk,
                                                        "exhibit_id": exhibit.pk})):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-") and len(response.content) > 2000
