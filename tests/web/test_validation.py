"""One validation in the model layer: every rule about dates and order is refused by the model
itself (so forms, CSV import and admin agree), shown next to its field, and nothing typed is
lost. Date fields render ISO values so browsers show them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.web.conftest import aware


def _errors(obj: Any) -> dict[str, list[str]]:
    try:
        obj.full_clean()
    except ValidationError as exc:
        return dict(exc.message_dict)
    return {}


def test_every_date_rule_is_the_models(world: dict[str, Any]) -> None:
    from fellwatch.web.records import models as m

    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    case, person, exhibit = world["case"], world["person"], world["exhibit"]
    offence = m.OffenceType.objects.first()
    cases = [
        (m.Case(unit=world["unit"], reference="X/1", opened_on=tomorrow), "opened_on"),
        (m.Case(unit=world["unit"], reference="X/2", opened_on=date(2026, 3, 2),
                closed_on=date(2026, 3, 1), status="closed"), "closed_on"),
        (m.Case(unit=world["unit"], reference="X/3", opened_on=date(2026, 3, 2),
                status="closed"), "closed_on"),
        (m.Case(unit=world["unit"], reference="X/4", opened_on=date(2026, 3, 2),
                closed_on=date(2026, 3, 3), status="open"), "status"),
        (m.Operation(unit=world["unit"], name="Op Late", starts_on=date(2026, 3, 8),
                     ends_on=date(2026, 3, 2), lead_officer="DI Lane"), "ends_on"),
        (m.Operation(unit=world["unit"], name="Op Far", starts_on=today + timedelta(days=400),
                     lead_officer="DI Lane"), "starts_on"),
        (m.SearchWarrant(case=case, address="2 Road", issued_on=tomorrow), "issued_on"),
        (m.SearchWarrant(case=case, address="2 Road", issued_on=date(2026, 3, 5),
                         executed_on=date(2026, 3, 4), result="seized"), "executed_on"),
        (m.SearchWarrant(case=case, address="2 Road", issued_on=date(2026, 3, 1),
                         executed_on=date(2026, 3, 4), result="pending"), "result"),
        (m.SearchWarrant(case=case, address="2 Road", issued_on=date(2026, 3, 1),
                         result="seized"), "executed_on"),
        (m.SearchWarrant(address="2 Road", issued_on=date(2026, 3, 1)), "address"),
        (m.Arrest(case=case, person=person, arrested_on=tomorrow, offence=offence), "arrested_on"),
        (m.Person(case=case, name="Born Later", date_of_birth=tomorrow), "date_of_birth"),
        (m.Person(case=case, name="Very Old", date_of_birth=date(1890, 1, 1)), "date_of_birth"),
        (m.Person(case=case, name="Too Young", role="suspect",
                  date_of_birth=today - timedelta(days=365 * 5)), "date_of_birth"),
        (m.Exhibit(case=case, reference="JD/9", type="phone", seized_by="PC 1",
                   seized_at=timezone.now() + timedelta(days=2)), "seized_at"),
        (m.SafeguardingRecord(case=case, reference="C-9", age_band="5-9",
                              identified_how="device", action="referral", agency="CS",
                              action_on=tomorrow), "action_on"),
        (m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 3, 6, 0), by="PC 1",
                        action="moved", to_location="Store", reason="before the seizure"), "at"),
        (m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 4, 9, 0), by="PC 1",
                        action="moved", reason="no destination"), "to_location"),
        (m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 4, 9, 0), by="PC 1",
                        action="imaged", reason="x", hash_after="abc"), "hash_after"),
    ]
    for obj, field in cases:
        errors = _errors(obj)
        assert field in errors, (obj, errors)
    # A witness may be a child; a suspect of 30 is fine.
    assert "date_of_birth" not in _errors(m.Person(case=case, name="Child Witness",
                                                   role="witness",
                                                   date_of_birth=today - timedelta(days=2000)))
    assert _errors(m.Person(case=case, name="Adult", date_of_birth=date(1990, 5, 1))) == {}


def test_custody_is_in_time_order_and_nothing_follows_a_final_disposal(
        world: dict[str, Any]) -> None:
    from fellwatch.web.records import models as m

    exhibit = world["exhibit"]
    moved = m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 4, 9, 0), by="PC 1",
                           action="moved", to_location="Store", reason="booked in")
    assert _errors(moved) == {}
    moved.save()
    earlier = m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 4, 8, 0), by="PC 1",
                             action="accessed", reason="looked")
    assert "at" in _errors(earlier)
    m.CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 5, 9, 0), by="PC 1",
                                  action="destroyed", reason="court order")
    after = m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 6, 9, 0), by="PC 1",
                           action="accessed", reason="looked")
    assert "nothing can follow" in " ".join(_errors(after)["action"])


def test_date_inputs_render_iso_and_a_round_trip_changes_nothing(
        world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.records.models import Case

    case = world["case"]
    case.closed_on, case.status = date(2026, 3, 20), "closed"
    case.save()
    client.force_login(world["examiner"])
    url = reverse("case-edit", kwargs={"case_id": case.pk})
    page = client.get(url).content.decode()
    assert 'type="date" name="opened_on" value="2026-03-02"' in page
    assert 'type="date" name="closed_on" value="2026-03-20"' in page
    # The "today" default of a new record is ISO too.
    new = client.get(reverse("arrest-new", kwargs={"case_id": case.pk})).content.decode()
    assert f'name="arrested_on" value="{timezone.localdate().isoformat()}"' in new
    form = _form_data(client, url)
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get(pk=case.pk)
    assert (case.opened_on, case.closed_on) == (date(2026, 3, 2), date(2026, 3, 20))


def _form_data(client: Client, url: str) -> dict[str, Any]:
    """What a browser would send back from the form as rendered."""
    from html.parser import HTMLParser

    data: dict[str, Any] = {}

    class Fields(HTMLParser):
        select: str | None = None
        textarea: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and name != "csrfmiddlewaretoken":
                if a.get("type") in ("checkbox", "radio"):
                    if "checked" in a:
                        data.setdefault(name, []).append(a.get("value"))
                else:
                    data[name] = a.get("value") or ""
            elif tag == "select" and name:
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                data[self.select] = a.get("value") or ""
            elif tag == "textarea" and name:
                self.textarea = name
                data[name] = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "select":
                self.select = None
            if tag == "textarea":
                self.textarea = None

        def handle_data(self, text: str) -> None:
            if self.textarea:
                data[self.textarea] += text

    Fields().feed(client.get(url).content.decode())
    return data


def test_a_wrong_date_is_shown_next_to_its_field_and_nothing_typed_is_lost(
        world: dict[str, Any], client: Client) -> None:
    client.force_login(world["examiner"])
    url = reverse("warrant-new", kwargs={"case_id": world["case"].pk})
    response = client.post(url, {"address": "9 Typed Lane", "issued_on": "2026-03-05",
                                 "executed_on": "2031-01-01", "result": "seized"})
    assert response.status_code == 200
    page = response.content.decode()
    field = page[page.index('name="executed_on"') - 600:page.index('name="executed_on"')]
    assert "This date is after today." in field
    assert 'value="9 Typed Lane"' in page and 'value="2031-01-01"' in page
    assert "__all__" not in page


def test_long_text_has_a_stated_limit_and_an_oversize_request_a_page_of_ours(
        world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.records.models import LONG_TEXT

    client.force_login(world["examiner"])
    url = reverse("case-edit", kwargs={"case_id": world["case"].pk})
    assert f'maxlength="{LONG_TEXT}"' in client.get(url).content.decode()
    form = _form_data(client, url)
    form["summary"] = "x" * (LONG_TEXT + 1)
    page = client.post(url, form).content.decode()
    assert "Ensure this value has at most 20000 characters" in page
    # 10 MB in one field: more than a form may carry; the site's page, with the way back.
    form["summary"] = "x" * (10 * 1024 * 1024)
    response = client.post(url, form)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Too much at once" in body and 'href="/cases/"' in body


@pytest.mark.parametrize("path", ["/no/such/page/", "/cases/999999/"])
def test_error_pages_are_the_sites_own(world: dict[str, Any], client: Client, path: str) -> None:
    client.force_login(world["examiner"])
    response = client.get(path)
    assert response.status_code == 404
    body = response.content.decode()
    assert "Not found" in body and 'id="logout"' in body and 'href="/cases/"' in body


def test_an_imaged_entry_without_a_before_hash_does_not_differ(
        world: dict[str, Any], client: Client) -> None:
    client.force_login(world["examiner"])
    exhibit = world["exhibit"]
    url = reverse("evidence-new", kwargs={"case_id": world["case"].pk, "exhibit_id": exhibit.pk})
    assert client.post(url, {"path": "/images/JD-1.E01", "format": "ewf",
                             "sha256": "b" * 64}).status_code == 302
    page = client.get(reverse("exhibit", kwargs={"case_id": world["case"].pk,
                                                 "exhibit_id": exhibit.pk})).content.decode()
    assert "b" * 64 in page and "differs" not in page


def test_an_expired_form_gets_a_page_of_ours(world: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["examiner"])
    response = client.post(reverse("warrant-new", kwargs={"case_id": world["case"].pk}),
                           {"address": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
