"""Forms and pages of the records, through Django's test client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.web.conftest import write_findings


def test_closing_a_case_and_refusing_impossible_dates(world: dict[str, Any],
                                                      client: Client) -> None:
    case = world["case"]
    client.force_login(world["examiner"])
    url = reverse("case-edit", kwargs={"case_id": case.pk})
    form = {"operation": case.operation_id, "status": "closed", "opened_on": "2026-03-02",
            "officer_in_charge": world["examiner"].pk, "assigned": [world["examiner"].pk],
            "offence_types": list(case.offence_types.values_list("pk", flat=True))}
    bad = client.post(url, {**form, "closed_on": "2026-03-01"})
    assert "A case cannot close before it opened." in bad.content.decode()
    bad = client.post(url, {**form, "closed_on": ""})
    assert "A closed case needs the date it closed." in bad.content.decode()
    assert client.post(url, {**form, "closed_on": "2026-06-30"}).status_code == 302
    case.refresh_from_db()
    assert (case.status, str(case.closed_on), case.reference) == (
        "closed", "2026-06-30", "CUN/2026/001")


def test_custody_form_checks_hashes_and_destination(world: dict[str, Any],
                                                    client: Client) -> None:
    exhibit = world["exhibit"]
    client.force_login(world["examiner"])
    url = reverse("custody-new", kwargs={"case_id": world["case"].pk, "exhibit_id": exhibit.pk})
    page = client.post(url, {"action": "moved", "at": "2026-03-04T09:00", "reason": "to lab",
                             "seal_intact": "unknown", "hash_before": "xyz"}).content.decode()
    assert "A SHA-256 is 64 hexadecimal digits." in page
    assert "A movement needs the place it went to." in page
    done = client.post(url, {"action": "imaged", "at": "2026-03-04T09:00", "reason": "imaging",
                             "seal_intact": "true", "hash_before": "AB" * 32,
                             "hash_after": "ab" * 32})
    assert done.status_code == 302
    entry = exhibit.custody.last()
    assert (entry.action, entry.by, entry.hash_before) == ("imaged", "erin.examiner", "ab" * 32)


def test_duplicate_exhibit_reference_is_refused_by_the_form(world: dict[str, Any],
                                                            client: Client) -> None:
    client.force_login(world["examiner"])
    url = reverse("exhibit-new", kwargs={"case_id": world["case"].pk})
    page = client.post(url, {"reference": "JD/1", "type": "usb", "seized_at": "2026-03-03T08:00",
                             "seized_by": "PC 1"}).content.decode()
    assert "already has an exhibit with that reference" in page


def test_exhibit_page_counts_findings_and_links_the_report(world: dict[str, Any],
                                                           client: Client,
                                                           tmp_path: Path) -> None:
    from fellwatch.web.scans import import_scan_dir

    out = write_findings(tmp_path / "scan")
    (out / "report.html").write_text("<html><body>synthetic report</body></html>")
    import_scan_dir(out, "CUN/2026/001", "JD/1")
    exhibit = world["exhibit"]
    scan = exhibit.scans.get()
    client.force_login(world["examiner"])
    kwargs = {"case_id": world["case"].pk, "exhibit_id": exhibit.pk}
    page = client.get(reverse("exhibit", kwargs=kwargs)).content.decode()
    assert "A: 2 · C: 1 · error: 1 · known good: 1 · needs review: 1" in page
    report_url = reverse("scan-report", kwargs={**kwargs, "scan_id": scan.pk})
    assert f'href="{report_url}"' in page
    scan_page = client.get(reverse("scan", kwargs={**kwargs, "scan_id": scan.pk})).content
    assert report_url.encode() in scan_page
    report = client.get(report_url)
    assert b"synthetic report" in b"".join(report.streaming_content)
    assert report["Content-Security-Policy"].startswith("sandbox")


def test_chart_is_svg_without_script(world: dict[str, Any], client: Client) -> None:
    client.force_login(world["supervisor"])
    svg = client.get("/stats/chart/enforcement.svg?from=2026-01-01&to=2026-12-31")
    assert svg["Content-Type"] == "image/svg+xml"
    body = svg.content.decode()
    assert body.lstrip().startswith("<?xml") and "<svg" in body
    assert "<script" not in body
    assert client.get("/stats/chart/nonsense.svg").status_code == 404


def test_the_admin_manages_reference_data_and_people(world: dict[str, Any],
                                                     client: Client) -> None:
    client.force_login(world["admin"])
    for url in ("/admin/", "/admin/records/offencetype/", "/admin/records/unit/",
                "/admin/auth/user/add/", f"/admin/auth/user/{world['examiner'].pk}/change/"):
        assert client.get(url).status_code == 200, url
    # The audit log is the auditors' (/audit/), not in the admin for the administrator.
    assert client.get("/admin/audit/auditentry/").status_code == 404
    assert "auditentry" not in client.get("/admin/").content.decode()
    # The administrator's home is the admin: no empty page of cases, no 403.
    assert client.get("/").url == "/admin/"
    page = client.get(f"/admin/auth/user/{world['examiner'].pk}/change/").content.decode()
    assert 'name="officer-0-role"' in page
    client.force_login(world["examiner"])
    assert client.get("/admin/").status_code == 302  # not staff: to the admin's log-in


def test_warrant_dates_and_results_must_agree(world: dict[str, Any], client: Client) -> None:
    client.force_login(world["examiner"])
    url = reverse("warrant-new", kwargs={"case_id": world["case"].pk})
    base = {"address": "9 Synthetic Row", "issued_on": "2026-03-01"}
    page = client.post(url, {**base, "executed_on": "2026-03-02",
                             "result": "pending"}).content.decode()
    assert "An executed warrant needs the result of its execution." in page
    page = client.post(url, {**base, "result": "seized"}).content.decode()
    assert "When was it executed?" in page
    page = client.post(url, {**base, "executed_on": "2026-02-28",
                             "result": "seized"}).content.decode()
    assert "cannot be executed before it was issued" in page
    assert client.post(url, {**base, "executed_on": "2026-03-02",
                             "result": "nothing"}).status_code == 302


def test_supervisor_imports_past_records_from_the_browser(world: dict[str, Any],
                                                          client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.records.models import Operation

    def upload(text: str) -> Any:
        return client.post(reverse("csv-import"), {
            "kind": "operations",
            "file": SimpleUploadedFile("ops.csv", text.encode(), content_type="text/csv")})

    client.force_login(world["examiner"])
    assert upload("name,starts_on,lead_officer\nOp X,2025-01-01,DI A\n").status_code == 403
    assert AuditEntry.objects.filter(action="denied", object_type="import").exists()
    client.force_login(world["supervisor"])
    bad = upload("name,starts_on,lead_officer\nOp X,2025-01-01,DI A\nOp Y,yesterday,DI B\n")
    assert "line 3: starts_on" in bad.content.decode()
    assert not Operation.objects.filter(name="Op X").exists()
    good = upload("name,starts_on,lead_officer\nOp X,2025-01-01,DI A\nOp Y,2025-02-01,DI B\n")
    assert good.status_code == 302
    assert set(Operation.objects.filter(unit=world["unit"]).values_list("name", flat=True)) == {
        "Op Heron", "Op X", "Op Y"}


def test_recording_an_image_adds_evidence_and_an_imaged_entry(world: dict[str, Any],
                                                             client: Client) -> None:
    exhibit = world["exhibit"]
    client.force_login(world["examiner"])
    url = reverse("evidence-new", kwargs={"case_id": world["case"].pk,
                                          "exhibit_id": exhibit.pk})
    bad = client.post(url, {"path": "/images/JD-1.E01", "format": "ewf", "sha256": "nope"})
    assert "A SHA-256 is 64 hexadecimal digits." in bad.content.decode()
    assert client.post(url, {"path": "/images/JD-1.E01", "format": "ewf",
                             "sha256": "E" * 64}).status_code == 302
    assert list(exhibit.evidence.values_list("path", "sha256")) == [
        ("/images/JD-1.E01", "e" * 64)]
    entry = exhibit.custody.last()
    assert (entry.action, entry.hash_after, entry.seal_number) == ("imaged", "e" * 64, "S000001")
