"""Correcting records: an edit page per kind, each change audited with before and after; a
supervisor voids with a reason, the record drops out of the figures and stays in the audit
log; custody stays append-only."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.web.test_validation import _form_data

# kind → (world key, a field to change, its new value, the stored attribute)
EDITS = {
    "person": ("person", "name", "John Q Doe", "name"),
    "arrest": ("arrest", "custody_record", "CR/2026/0042", "custody_record"),
    "warrant": ("warrant", "address", "1a Example Road, Exampleton", "address"),
    "exhibit": ("exhibit", "serial", "SN-0001-CORRECTED", "serial"),
    "safeguarding": ("safeguarding", "agency", "Exampleton Early Help", "agency"),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_each_record_can_be_corrected_and_the_change_is_audited(
        kind: str, world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.audit.models import AuditEntry

    key, field, value, attr = EDITS[kind]
    obj = world[key]
    old = getattr(obj, attr)
    client.force_login(world["examiner"])
    url = reverse(f"{kind}-edit", kwargs={"case_id": world["case"].pk, f"{kind}_id": obj.pk})
    data = _form_data(client, url)
    data[field] = value
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    obj.refresh_from_db()
    assert getattr(obj, attr) == value
    entry = AuditEntry.objects.filter(action="change", object_id=str(obj.pk),
                                      object_type=obj._meta.model_name).last()
    assert entry is not None and entry.username == "erin.examiner"
    changes = json.loads(entry.detail)["changes"]
    assert changes == {attr: [old, value]}, changes
    assert f"{attr} {old!r} → {value!r}" in entry.what


def test_a_supervisor_voids_with_a_reason_and_the_figures_drop_it(
        world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.records import stats

    arrest = world["arrest"]
    url = reverse("arrest-void", kwargs={"case_id": world["case"].pk, "arrest_id": arrest.pk})
    period = (date(2026, 3, 1), date(2026, 3, 31))
    assert stats.compute(*period, world["unit"]).totals["arrests"] == 1
    # The examiner may correct, not void.
    client.force_login(world["examiner"])
    assert client.post(url, {"reason": "duplicate"}).status_code == 403
    client.force_login(world["supervisor"])
    page = client.post(url, {"reason": ""})
    assert page.status_code == 200 and "This field is required" in page.content.decode()
    assert client.post(url, {"reason": "entered twice"}).status_code == 302
    arrest.refresh_from_db()
    assert arrest.voided and arrest.void_reason == "entered twice"
    assert arrest.voided_by == "sam.supervisor"
    assert stats.compute(*period, world["unit"]).totals["arrests"] == 0
    entry = AuditEntry.objects.filter(action="void", object_type="arrest").get()
    assert "entered twice" in entry.what
    # Still on the case page, struck through with its reason; no longer editable (the refusal
    # pages themselves: test_void_read_only).
    body = client.get(reverse("case", kwargs={"case_id": world["case"].pk})).content.decode()
    assert 'class="void"' in body and "void: entered twice" in body
    edit = reverse("arrest-edit", kwargs={"case_id": world["case"].pk, "arrest_id": arrest.pk})
    assert client.post(edit, {"outcome": "nfa"}).status_code == 403
    arrest.refresh_from_db()
    assert arrest.outcome == "rui"


def test_a_void_exhibit_leaves_the_lists_the_paperwork_and_the_choices(
        world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.records import stats

    exhibit, case = world["exhibit"], world["case"]
    client.force_login(world["supervisor"])
    url = reverse("exhibit-void", kwargs={"case_id": case.pk, "exhibit_id": exhibit.pk})
    assert client.post(url, {"reason": "seized in error"}).status_code == 302
    assert stats.compute(date(2026, 3, 1), date(2026, 3, 31), world["unit"]).totals[
        "exhibits_seized"] == 0
    assert "JD/1" not in client.get(reverse("exhibits")).content.decode()
    paper = client.get(reverse("paper-exhibits", kwargs={"case_id": case.pk})).content.decode()
    assert "JD/1" not in paper


def test_custody_has_no_edit_page(world: dict[str, Any]) -> None:
    from django.urls import get_resolver

    names = [p.name for p in get_resolver().url_patterns if getattr(p, "name", None)]
    assert "custody-new" in names
    assert not [n for n in names if n and n.startswith("custody-") and n != "custody-new"]


def test_an_operation_can_be_corrected(world: dict[str, Any], client: Client) -> None:
    operation = world["operation"]
    client.force_login(world["examiner"])
    url = reverse("operation-edit", kwargs={"operation_id": operation.pk})
    data = _form_data(client, url)
    assert data["starts_on"] == "2026-03-02" and data["ends_on"] == "2026-03-08"
    data["ends_on"] = "2026-03-01"
    page = client.post(url, data).content.decode()
    assert "An operation cannot end before it starts." in page
    data["ends_on"] = "2026-03-09"
    assert client.post(url, data).status_code == 302
    operation.refresh_from_db()
    assert operation.ends_on == date(2026, 3, 9)


def test_safeguarding_form_takes_initial_values_from_the_address(
        world: dict[str, Any], client: Client) -> None:
    client.force_login(world["examiner"])
    url = reverse("safeguarding-new", kwargs={"case_id": world["case"].pk})
    page = client.get(url, {"pseudonym": "C-CHAT-7", "identified_how": "online-contact",
                            "source": "chat 3, message 41"}).content.decode()
    assert 'value="C-CHAT-7"' in page
    assert '<option value="online-contact" selected>' in page
    assert "chat 3, message 41" in page


def test_a_void_case_counts_nowhere(world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.records import stats

    period = (date(2026, 3, 1), date(2026, 3, 31))
    before = stats.compute(*period, world["unit"]).totals
    assert before["arrests"] == before["exhibits_seized"] == before["cases_opened"] == 1
    url = reverse("case-void", kwargs={"case_id": world["case"].pk})
    client.force_login(world["examiner"])
    assert client.post(url, {"reason": "opened twice"}).status_code == 403
    client.force_login(world["supervisor"])
    assert client.post(url, {"reason": "opened twice"}).status_code == 302
    after = stats.compute(*period, world["unit"]).totals
    assert after == dict.fromkeys(after, 0), after
    assert "(void)" in client.get(reverse("cases")).content.decode()
