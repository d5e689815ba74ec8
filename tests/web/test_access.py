"""Case-level access: every URL and API of a case, found by walking the URL resolver, refuses
whoever is not on the case, and every refusal is in the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.web.conftest import write_findings

OBJECT_KWARGS = ("case_id", "operation_id", "exhibit_id", "scan_id", "person_id", "arrest_id",
                 "warrant_id", "safeguarding_id", "finding_id", "stack_id")


def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            found += _patterns(p, prefix + str(p.pattern))
        else:
            found.append((prefix + str(p.pattern), p))
    return found


def object_urls(ids: dict[str, int], needs: str) -> list[str]:
    """Every URL whose pattern takes `needs` (case_id or operation_id), filled in with ids."""
    urls = []
    for route, pattern in _patterns(get_resolver()):
        names = set(pattern.pattern.converters)
        if needs in names and pattern.name:
            assert names <= set(OBJECT_KWARGS), f"{route}: teach this test its kwargs {names}"
            urls.append(reverse(pattern.name, kwargs={k: ids[k] for k in names}))
    return sorted(urls)


@pytest.fixture
def ids(world: dict[str, Any], tmp_path: Path) -> dict[str, int]:
    from fellwatch.web.scans import import_scan_dir

    out = write_findings(tmp_path / "scan")
    (out / "report.html").write_text("<html><body>synthetic report</body></html>")
    import_scan_dir(out, "CUN/2026/001", "JD/1", user="erin.examiner")
    from fellwatch.web.records.models import Finding

    exhibit = world["exhibit"]
    first, second = Finding.objects.order_by("id").values_list("id", flat=True)[:2]
    Finding.objects.filter(id__in=[first, second]).update(stack=first)  # a stack to probe
    return {"case_id": world["case"].pk, "operation_id": world["operation"].pk,
            "exhibit_id": exhibit.pk, "scan_id": exhibit.scans.get().pk,
            "person_id": world["person"].pk, "arrest_id": world["arrest"].pk,
            "warrant_id": world["warrant"].pk, "safeguarding_id": world["safeguarding"].pk,
            "finding_id": second, "stack_id": first}


def test_the_probe_finds_every_case_url(ids: dict[str, int]) -> None:
    urls = object_urls(ids, "case_id")
    # 14 before; + edit and void of 5 kinds; + exhibit list (page, PDF, CSV), labels (page,
    # PDF), continuity (page, PDF, CSV); + void of the case itself; + 14 review URLs (a
    # finding's page among them); + 3 chat pages (attachments are the gallery's thumbnails).
    assert len(urls) == 14 + 10 + 8 + 1 + 14 + 3
    assert sum("/review/" in u for u in urls) == 14
    assert any(u.startswith("/api/cases/") for u in urls)
    assert any(u.endswith("/report/") for u in urls)


def test_the_assigned_examiner_reaches_every_case_url(world: Any, ids: Any, client: Any) -> None:
    client.force_login(world["examiner"])
    for url in object_urls(ids, "case_id") + object_urls(ids, "operation_id"):
        # Voiding is the supervisors' (test_edit_and_void.py).
        expected = 403 if url.endswith("/void/") else 200
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("who", ["outsider", "foreign", "admin"])
def test_anyone_not_on_the_case_is_refused_everywhere_and_logged(
    who: str, world: dict[str, Any], ids: dict[str, int], client: Any
) -> None:
    from fellwatch.web.audit.models import AuditEntry

    user = world[who]
    client.force_login(user)
    urls = object_urls(ids, "case_id")
    if who != "outsider":  # the outsider is in the operation's unit, the others are not
        urls += object_urls(ids, "operation_id")
    before = AuditEntry.objects.count()
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (403, 404), (method, url, response.status_code)
            body = response.content.decode()
            assert "CUN/2026/001" not in body and "John Doe" not in body, url
    denied = AuditEntry.objects.filter(seq__gt=before, action="denied",
                                       username=user.username)
    assert sorted(e.path for e in denied) == sorted(urls * 2)
    assert not AuditEntry.objects.filter(seq__gt=before).exclude(action="denied").exists()


def test_unit_colleague_sees_the_operation_but_not_the_cases_in_it(
    world: dict[str, Any], client: Any
) -> None:
    client.force_login(world["outsider"])
    page = client.get(reverse("operation", kwargs={"operation_id": world["operation"].pk}))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Op Heron" in body
    assert "CUN/2026/001" not in body and "John Doe" not in body and "JD/1" not in body
    listing = client.get(reverse("cases")).content.decode()
    assert "CUN/2026/001" not in listing


def test_supervisor_sees_the_unit_auditor_reads_only(
    world: dict[str, Any], ids: dict[str, int], client: Any
) -> None:
    from fellwatch.web.audit.models import AuditEntry

    case_url = reverse("case", kwargs={"case_id": ids["case_id"]})
    client.force_login(world["supervisor"])
    assert client.get(case_url).status_code == 200
    client.force_login(world["auditor"])
    assert client.get(case_url).status_code == 200
    before = AuditEntry.objects.count()
    for url in object_urls(ids, "case_id"):
        assert client.post(url, {"name": "x"}).status_code == 403, url
    assert AuditEntry.objects.filter(seq__gt=before, action="denied").count() == len(
        object_urls(ids, "case_id"))
    listing = client.get(reverse("cases")).content.decode()
    assert "CUN/2026/001" in listing and "CUS/2026/009" not in listing
    assert client.get(reverse("audit-log")).status_code == 200
    # The audit log is the auditors' alone: not the supervisors', not the administrator's.
    for who in ("supervisor", "admin"):
        client.force_login(world[who])
        assert client.get(reverse("audit-log")).status_code == 403, who


def test_views_of_case_data_are_audited(world: dict[str, Any], ids: Any, client: Any) -> None:
    from fellwatch.web.audit.models import AuditEntry

    client.force_login(world["examiner"])
    client.get(reverse("exhibit", kwargs={"case_id": ids["case_id"],
                                          "exhibit_id": ids["exhibit_id"]}))
    client.get(reverse("api-case", kwargs={"case_id": ids["case_id"]}))
    views = list(AuditEntry.objects.filter(action="view", username="erin.examiner")
                 .values_list("object_type", "object_id"))
    assert ("exhibit", str(ids["exhibit_id"])) in views
    assert ("case", str(ids["case_id"])) in views


def test_examiner_cannot_read_the_audit_log(world: dict[str, Any], client: Any) -> None:
    client.force_login(world["examiner"])
    assert client.get(reverse("audit-log")).status_code == 403
