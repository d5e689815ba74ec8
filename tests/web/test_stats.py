"""The unit's figures come from the records. Runs against SQLite here and against a real
PostgreSQL server through test_postgres.py (the same file, unchanged)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest


@pytest.fixture(scope="module")
def seeded_year(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """One synthetic year for the module's tests (seeding is the slow part), inside a
    transaction of its own that is rolled back at the end; each test nests in it."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from fellwatch.web.records.models import Officer, Unit
    from fellwatch.web.records.synthetic import seed_year

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            user = get_user_model().objects.create_user("sam.supervisor")
            unit = Unit.objects.create(name="Cyber Unit North")
            Officer.objects.create(user=user, unit=unit, role="supervisor")
            yield seed_year("Cyber Unit North")
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_a_seeded_year_gives_exactly_its_figures(seeded_year: Any, db: Any) -> None:
    from fellwatch.web.records import stats
    from fellwatch.web.records.models import Unit

    plan = seeded_year
    assert (plan.arrests, plan.warrants_executed, plan.children_safeguarded) == (38, 28, 108)
    figures = stats.compute(date(2025, 1, 1), date(2025, 12, 31),
                            Unit.objects.get(name="Cyber Unit North"))
    assert figures.totals == {
        "arrests": 38,
        "warrants_executed": 28,
        "exhibits_seized": plan.exhibits_seized,
        "exhibits_examined": plan.exhibits_examined,
        "children_safeguarded": 108,
        "cases_opened": plan.cases_opened,
        "cases_closed": plan.cases_closed,
    }
    assert figures.exhibits_by_type == plan.exhibits_by_type
    for name, per_month in figures.per_month.items():
        assert list(per_month) == [f"2025-{m:02d}" for m in range(1, 13)]
        assert sum(per_month.values()) == figures.totals[name], name

    # The period's edges are included, the days either side are not. All units, the whole
    # database: the records just outside the year are in it.
    wide = stats.compute(date(2024, 12, 31), date(2026, 1, 1))
    assert wide.totals["arrests"] == 38 + 2
    assert wide.totals["warrants_executed"] == 28 + 2 + 1  # + the neighbouring unit's
    assert wide.totals["exhibits_seized"] == seeded_year.exhibits_seized + 2
    assert wide.totals["children_safeguarded"] == 108 + 2
    assert wide.totals["cases_opened"] == seeded_year.cases_opened + 1
    assert wide.totals["cases_closed"] == seeded_year.cases_closed + 1
    first_day = stats.compute(date(2025, 1, 1), date(2025, 1, 1))
    assert first_day.totals["arrests"] >= 1
    last_day = stats.compute(date(2025, 12, 31), date(2025, 12, 31))
    assert last_day.totals["exhibits_seized"] >= 1  # seized at 23:45 local time


def test_a_child_with_two_actions_is_one_child(make_user: Any) -> None:
    from fellwatch.web.records import stats
    from fellwatch.web.records.models import Case, SafeguardingRecord, Unit

    unit = Unit.objects.create(name="U")
    case = Case.objects.create(unit=unit, reference="R1", opened_on=date(2025, 1, 1))
    for day, action in ((date(2025, 1, 5), "referral"), (date(2025, 2, 5), "strategy-meeting")):
        SafeguardingRecord.objects.create(case=case, reference="C-1", age_band="5-9",
                                          identified_how="device", action=action,
                                          agency="CS", action_on=day)
    figures = stats.compute(date(2025, 1, 1), date(2025, 3, 31), unit)
    assert figures.totals["children_safeguarded"] == 1
    assert figures.per_month["children_safeguarded"] == {"2025-01": 1, "2025-02": 0,
                                                         "2025-03": 0}
    assert stats.compute(date(2025, 2, 1), date(2025, 2, 28),
                         unit).totals["children_safeguarded"] == 1


def test_page_api_and_publishable_summary(seeded_year: Any, db: Any, client: Any) -> None:
    from django.contrib.auth import get_user_model

    from fellwatch.web.records.models import Case, Exhibit, Person, SafeguardingRecord

    client.force_login(get_user_model().objects.get(username="sam.supervisor"))
    period = {"from": "2025-01-01", "to": "2025-12-31"}
    text = client.get("/stats/summary.txt", period).content.decode()
    assert "made 38 arrests" in text
    assert "executed 28 search warrants" in text
    assert "108 children were safeguarded" in text
    assert "41 phones, 17 laptops, 12 USB sticks, 9 SD cards, 6 tablets, 5 hard drives, " \
           "3 other devices" in text
    page = client.get("/stats/", period).content.decode()
    assert '<td class="n" id="fig-arrests">38</td>' in page
    body = client.get("/stats/summary.csv", period).content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    totals = {r["figure"]: int(r["value"]) for r in rows if not r["month"]}
    assert totals["arrests"] == 38
    assert totals["children_safeguarded"] == 108
    assert totals["exhibits_seized:phone"] == 41
    # Nothing that names or points at a person, a child, a case or an exhibit.
    secrets = set(Person.objects.values_list("name", flat=True))
    secrets |= set(Case.objects.values_list("reference", flat=True))
    secrets |= set(Exhibit.objects.values_list("reference", flat=True))
    secrets |= set(SafeguardingRecord.objects.values_list("reference", flat=True))
    secrets |= {"Synthetic Way", "Exampleton", "SEAL"}
    for secret in secrets:
        assert secret not in body and secret not in text, secret

    data = client.get("/api/stats?from=2025-01-01&to=2025-12-31").json()
    assert (data["arrests"], data["warrants_executed"], data["children_safeguarded"]) == (
        38, 28, 108)
    assert data["exhibits_seized_by_type"]["laptop"] == 17
    assert data["per_month"]["arrests"]["2025-01"] >= 1
    bad = client.get("/api/stats?from=2025-12-31&to=2025-01-01")
    assert bad.status_code == 400
    assert "ends before" in bad.json()["error"]
    assert client.get("/api/stats?from=yesterday&to=2025-01-01").status_code == 400
