"""An outsider's walk over every form: a colleague in the same unit and the same operation, on a
case of their own, opens every form they may (found by walking the URL resolver) and reads
every choice and every error text. None names anything of the case they are not on."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from tests.web.conftest import aware
from tests.web.test_access import _patterns

# What the outsider must never read: the other case's reference, persons, warrant address,
# exhibit (its serial and seal), child reference; the other unit's case and officer.
SECRETS = ("CUN/2026/001", "John Doe", "1 Example Road", "SN-0001", "S000001", "C-2026-001",
           "CUS/2026/009", "fred.foreign")


class Choices(HTMLParser):
    """Every <option> and every checkbox/radio label of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("option", "label"):
            self._in = tag
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.texts[-1] += data


@pytest.fixture
def own(world: dict[str, Any]) -> dict[str, Any]:
    from fellwatch.web.records import models as m

    outsider = world["outsider"]
    case = m.Case.objects.create(unit=world["unit"], reference="CUN/2026/050",
                                 operation=world["operation"], opened_on=date(2026, 3, 2),
                                 officer_in_charge=outsider)
    case.assigned.add(outsider)
    person = m.Person.objects.create(case=case, name="Alex Own")
    warrant = m.SearchWarrant.objects.create(case=case, operation=world["operation"],
                                             address="50 Own Street", issued_on=date(2026, 3, 1))
    exhibit = m.Exhibit.objects.create(case=case, reference="AO/1", type="usb",
                                       seized_at=aware(2026, 3, 3, 9), seized_by="PC 5")
    arrest = m.Arrest.objects.create(case=case, person=person, arrested_on=date(2026, 3, 3),
                                     offence=m.OffenceType.objects.first())
    safeguarding = m.SafeguardingRecord.objects.create(
        case=case, reference="C-OWN-1", age_band="5-9", identified_how="device",
        action="referral", agency="CS", action_on=date(2026, 3, 4))
    return {"case_id": case.pk, "operation_id": world["operation"].pk,
            "exhibit_id": exhibit.pk, "person_id": person.pk, "warrant_id": warrant.pk,
            "arrest_id": arrest.pk, "safeguarding_id": safeguarding.pk, "scan_id": 0}


def _form_urls(ids: dict[str, Any]) -> list[str]:
    urls = ["/cases/new/", "/operations/new/"]
    for route, pattern in _patterns(get_resolver()):
        names = set(pattern.pattern.converters)
        if pattern.name and (route.endswith("/new/") or route.endswith("/edit/")) and names:
            urls.append(reverse(pattern.name, kwargs={k: ids[k] for k in names}))
    return sorted(set(urls))


def test_every_form_choice_is_scoped(world: dict[str, Any], own: dict[str, Any],
                                     client: Client) -> None:
    client.force_login(world["outsider"])
    urls = _form_urls(own)
    assert len(urls) >= 15, urls
    seen_choices = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        parser = Choices()
        body = response.content.decode()
        parser.feed(body)
        seen_choices += len(parser.texts)
        for secret in SECRETS:
            assert secret not in body, (url, secret)
    assert seen_choices > 50
    # The outsider's own records are offered where they belong.
    exhibit_form = client.get(reverse("exhibit-new", kwargs={"case_id": own["case_id"]}))
    assert "50 Own Street" in exhibit_form.content.decode()


def test_posting_another_cases_choice_is_refused_without_naming_it(
        world: dict[str, Any], own: dict[str, Any], client: Client) -> None:
    client.force_login(world["outsider"])
    exhibit = client.post(reverse("exhibit-new", kwargs={"case_id": own["case_id"]}), {
        "reference": "AO/2", "type": "phone", "seized_at": "2026-03-03T10:00",
        "seized_by": "PC 5", "warrant": world["warrant"].pk})
    arrest = client.post(reverse("arrest-new", kwargs={"case_id": own["case_id"]}), {
        "person": world["person"].pk, "arrested_on": "2026-03-03",
        "offence": world["arrest"].offence_id, "outcome": "rui"})
    for response in (exhibit, arrest):
        body = response.content.decode()
        assert response.status_code == 200 and "Select a valid choice" in body
        for secret in SECRETS:
            assert secret not in body, secret


def test_a_taken_case_reference_confirms_nothing(world: dict[str, Any], own: dict[str, Any],
                                                 client: Client) -> None:
    from fellwatch.web.audit.models import AuditEntry

    messages = []
    for who, reference in (("outsider", "CUN/2026/001"), ("examiner", "CUN/2026/001"),
                           ("examiner", "CUN/2026/050")):
        client.force_login(world[who])
        body = client.post("/cases/new/", {"reference": reference, "opened_on": "2026-03-02",
                                           "status": "open"}).content.decode()
        start = body.index('class="errorlist')
        messages.append(body[start:body.index("</ul>", start)])
    # The same words whether the user may open that case or not.
    assert messages[0] == messages[1] == messages[2]
    assert "exist" not in messages[0]
    assert AuditEntry.objects.filter(action="denied", object_type="case",
                                     username="oscar.outsider").exists()
    # Another unit's reference is no clash: references are unique within a unit.
    client.force_login(world["outsider"])
    assert client.post("/cases/new/", {"reference": "CUS/2026/009", "opened_on": "2026-03-02",
                                       "status": "open"}).status_code == 302
