"""The unit's figures come from the records. Runs against SQLite here and against a real
PostgreSQL server through test_postgres.py (the same file, unchanged)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st


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
    # 3 other devices are small; 5 hard drives would give them away by subtraction from 93.
    assert "41 phones, 17 laptops, 12 USB sticks, 9 SD cards, 6 tablets, [c] hard drives, " \
           "<5 other devices" in text
    page = client.get("/stats/", period).content.decode()
    assert '<td class="n" id="fig-arrests">38</td>' in page
    body = client.get("/stats/summary.csv", period).content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    totals = {r["figure"]: r["value"] for r in rows if not r["month"]}
    assert totals["arrests"] == "38"
    assert totals["children_safeguarded"] == "108"
    assert totals["exhibits_seized:phone"] == "41"
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


# Small-number suppression of the publishable summary.

SPRING = {"from": "2025-03-01", "to": "2025-05-31"}  # a quarter of the seeded year: small counts


def _summary(client: Any, period: dict[str, str]) -> tuple[list[dict[str, str]], str]:
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="sam.supervisor"))
    body = client.get("/stats/summary.csv", period).content.decode()
    text = client.get("/stats/summary.txt", period).content.decode()
    return list(csv.DictReader(io.StringIO(body))), text


def _exact(period: dict[str, str]) -> dict[tuple[str, str], int]:
    """The exact counts, keyed as the summary CSV's rows are: (figure, month)."""
    from fellwatch.web.records import stats
    from fellwatch.web.records.models import Unit

    f = stats.compute(date.fromisoformat(period["from"]), date.fromisoformat(period["to"]),
                      Unit.objects.get(name="Cyber Unit North"))
    return _cells(f)


def _cells(f: Any) -> dict[tuple[str, str], int]:
    out = {(name, ""): n for name, n in f.totals.items()}
    out |= {(f"exhibits_seized:{t}", ""): n for t, n in f.exhibits_by_type.items()}
    out |= {(name, m): n for name, months in f.per_month.items() for m, n in months.items()}
    return out


def _values(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    return {(r["figure"], r["month"]): r["value"] for r in rows if r["figure"] != "note"}


def recoverable(values: dict[tuple[str, str], str], below: int) -> set[tuple[str, str]]:
    """The withheld cells of a published summary whose exact value a reader can work out.

    The reader knows what is published, that each total is the sum of its months (and
    exhibits seized of its types), and the published rule: `<N` is 1..N-1; `[c]` in a
    breakdown withheld whole (all `[c]`) is anything from 0 to the total; any other `[c]` is
    not small (>= N) and, the smallest parts being withheld first, no larger than the
    smallest non-zero part shown beside it. Every combination is tried (sums as bitsets), so
    this does not rest on the code under test."""
    from fellwatch.web.records.stats import FIGURES

    small = f"<{below}"
    groups = [((f, ""), [c for c in values if c[0] == f and c[1]]) for f in FIGURES]
    groups.append((("exhibits_seized", ""),
                   [c for c in values if c[0].startswith("exhibits_seized:")]))

    def total_range(token: str) -> tuple[int, int]:
        return (1, below - 1) if token == small else (int(token), int(token))

    def boxes(total: tuple[str, str], parts: list[tuple[str, str]]) -> dict[Any, tuple[int, int]]:
        tokens = [values[p] for p in parts]
        top = total_range(values[total])[1]
        shown = [int(t) for t in tokens if t.isdigit() and int(t)]
        out = {}
        for p, t in zip(parts, tokens, strict=True):
            if t.isdigit():
                out[p] = (int(t), int(t))
            elif t == small:
                out[p] = (1, below - 1)
            elif all(x == "[c]" for x in tokens):
                out[p] = (0, top)
            else:
                assert t == "[c]", t
                out[p] = (below, min(shown, default=top))
        return out

    def sums(ranges: Any, top: int) -> int:
        mask = 1  # bit s set: the ranges can add up to s
        for lo, hi in ranges:
            mask = _shifts(mask, lo, hi) & ((2 << top) - 1)
        return mask

    possible: dict[Any, int] = {}
    grouped = []
    for total, parts in groups:
        lo, hi = total_range(values[total])
        box = boxes(total, parts)
        mask = sums(box.values(), hi) & ~((1 << lo) - 1)
        possible[total] = possible.get(total, mask) & mask
        grouped.append((total, box))
    found = set()
    for total, box in grouped:
        totals = possible[total]
        top = totals.bit_length() - 1
        for p, (lo, hi) in box.items():
            if values[p].isdigit():
                continue
            others = sums([b for q, b in box.items() if q != p], top)
            can = [v for v in range(lo, min(hi, top) + 1)
                   if any(totals >> t & 1 and others >> (t - v) & 1 for t in range(v, top + 1))]
            assert can, (p, "the published figures contradict each other")
            if len(can) == 1:
                found.add(p)
    return found


def _shifts(mask: int, lo: int, hi: int) -> int:
    out = 0
    for v in range(lo, hi + 1):
        out |= mask << v
    return out


def _check_rule(values: dict[tuple[str, str], str], exact: dict[tuple[str, str], int],
                below: int) -> None:
    """What is published is the exact count, `<N` for a small one, or `[c]`; never a small
    count itself, and a zero only as 0 or `[c]`."""
    assert set(values) == set(exact)
    for cell, n in exact.items():
        shown = values[cell]
        if n == 0:
            assert shown in ("0", "[c]"), (cell, shown)
        elif n < below:
            assert shown in (f"<{below}", "[c]"), (cell, n, shown)
        else:
            assert shown in (str(n), "[c]"), (cell, n, shown)


def test_the_summary_suppresses_small_counts_the_page_and_api_do_not(
        seeded_year: Any, db: Any, client: Any) -> None:
    rows, text = _summary(client, SPRING)
    values, exact = _values(rows), _exact(SPRING)
    assert exact[("exhibits_seized:other", "")] == 1 and exact[("arrests", "2025-03")] == 1
    assert exact[("exhibits_seized:tablet", "")] == 0 and exact[("cases_opened", "2025-05")] == 0
    assert values[("exhibits_seized:other", "")] == "<5"
    assert values[("arrests", "2025-03")] == "<5"
    assert values[("exhibits_seized:tablet", "")] == "0"  # an empty cell stays 0
    assert values[("cases_opened", "2025-05")] == "0"
    assert values[("children_safeguarded", "")] == "40"  # large counts as they are
    assert values[("children_safeguarded", "2025-03")] == "18"
    _check_rule(values, exact, 5)
    rule = ("Counts from 1 to 4 are shown as <5; further figures are withheld as [c] where a "
            "total would reveal them.")
    assert rows[0]["figure"] == "note" and rows[0]["value"] == rule
    assert text.splitlines()[-1] == rule
    assert "(7 phones, 5 laptops, <5 hard drives, <5 other devices, <5 SD cards, " \
           "<5 USB sticks)" in text
    assert "made 10 arrests" in text and "40 children were safeguarded" in text
    # The unit's own page and JSON stay exact.
    page = client.get("/stats/", SPRING).content.decode()
    assert '<td class="n" id="type-other">1</td>' in page
    assert '<td class="n" id="type-usb">2</td>' in page
    data = client.get("/api/stats", SPRING).json()
    assert data["exhibits_seized_by_type"]["other"] == 1
    assert data["per_month"]["arrests"]["2025-03"] == 1
    # The page's paragraph is the publishable one, as it would leave the unit.
    assert "&lt;5 other devices" in page and "1 other device" not in page


def test_no_withheld_count_can_be_worked_out_from_the_totals(
        seeded_year: Any, db: Any, client: Any, monkeypatch: Any) -> None:
    from fellwatch.web.records import stats

    for period in (SPRING, {"from": "2025-01-01", "to": "2025-12-31"},
                   {"from": "2025-03-01", "to": "2025-03-31"}):
        rows, _ = _summary(client, period)
        values = _values(rows)
        _check_rule(values, _exact(period), 5)
        assert "<5" in values.values()
        assert recoverable(values, 5) == set(), period
    # The check has teeth: primary suppression alone gives cells away (3 other devices, the
    # only small type of the year, is 93 less the others; in spring, the one withheld month).
    monkeypatch.setattr(stats, "_derivable", lambda *args: set())
    rows, _ = _summary(client, {"from": "2025-01-01", "to": "2025-12-31"})
    assert ("exhibits_seized:other", "") in recoverable(_values(rows), 5)
    rows, _ = _summary(client, SPRING)
    assert ("exhibits_seized", "2025-03") in recoverable(_values(rows), 5)


def test_the_threshold_is_a_setting(seeded_year: Any, db: Any, client: Any,
                                    settings: Any) -> None:
    settings.SUMMARY_SUPPRESS_BELOW = 10
    rows, text = _summary(client, SPRING)
    values, exact = _values(rows), _exact(SPRING)
    assert values[("exhibits_seized:phone", "")] == "<10"  # 7
    assert values[("arrests", "")] == "10"
    _check_rule(values, exact, 10)
    assert recoverable(values, 10) == set()
    assert rows[0]["value"].startswith("Counts from 1 to 9 are shown as <10;")
    assert "<10 phones" in text and text.splitlines()[-1].startswith("Counts from 1 to 9")

    for off in (0, 1):
        settings.SUMMARY_SUPPRESS_BELOW = off
        rows, text = _summary(client, SPRING)
        assert _values(rows) == {cell: str(n) for cell, n in exact.items()}
        assert all(r["figure"] != "note" for r in rows)
        assert "(7 phones, 5 laptops, 4 SD cards, 3 hard drives, 2 USB sticks, " \
               "1 other device)" in text
        assert "Counts from" not in text

    settings.SUMMARY_SUPPRESS_BELOW = 2  # "<2" would still say 1
    with pytest.raises(ValueError, match="threshold 2"):
        _summary(client, SPRING)


def test_the_threshold_setting_defaults_to_5_and_refuses_2(monkeypatch: Any) -> None:
    import runpy

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from fellwatch.web import settings as web_settings

    assert web_settings.SETTINGS["FELLWATCH_SUMMARY_SUPPRESS_BELOW"][0] == "5"
    if "FELLWATCH_SUMMARY_SUPPRESS_BELOW" not in os.environ:
        assert settings.SUMMARY_SUPPRESS_BELOW == 5
    for value, expected in (("10", 10), ("0", 0)):
        monkeypatch.setenv("FELLWATCH_SUMMARY_SUPPRESS_BELOW", value)
        assert runpy.run_path(web_settings.__file__)["SUMMARY_SUPPRESS_BELOW"] == expected
    for value in ("2", "-1"):
        monkeypatch.setenv("FELLWATCH_SUMMARY_SUPPRESS_BELOW", value)
        with pytest.raises(ImproperlyConfigured):
            runpy.run_path(web_settings.__file__)


@st.composite
def _figures(draw: Any) -> Any:
    """Figures of a few months, mostly small counts; exhibits by month and by type come from
    one list of exhibits, so they share their total as the real ones do."""
    from fellwatch.web.records import stats

    n_months = draw(st.integers(1, 4))
    months = stats.months(date(2025, 1, 1), date(2025, n_months, 1))
    count = st.integers(0, 9)
    per_month = {name: dict(zip(months, draw(st.lists(count, min_size=n_months,
                                                       max_size=n_months)), strict=True))
                 for name in stats.FIGURES}
    exhibits = draw(st.lists(st.tuples(st.integers(0, n_months - 1), st.integers(0, 6)),
                             max_size=45))
    types = list(stats.TYPE_WORDS)
    per_month["exhibits_seized"] = {m: sum(1 for i, _ in exhibits if i == k)
                                    for k, m in enumerate(months)}
    by_type = {t: sum(1 for _, j in exhibits if j == k) for k, t in enumerate(types)}
    return stats.Figures(date(2025, 1, 1), date(2025, n_months, 1),
                         {name: sum(v.values()) for name, v in per_month.items()},
                         by_type, per_month)


@hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
@hypothesis.given(_figures(), st.sampled_from([3, 5, 10]))
def test_no_summary_gives_a_withheld_count_away(figures: Any, below: int) -> None:
    from fellwatch.web.records import stats

    rows = list(csv.DictReader(io.StringIO(stats.summary_csv(figures, below))))
    values = _values(rows)
    _check_rule(values, _cells(figures), below)
    assert recoverable(values, below) == set()
    text = stats.summary_text(figures, below)
    counts = text.splitlines()[0].split("officers", 1)[1]  # after the dates, before the rule
    assert all(f" {n} " not in counts for n in range(1, below))  # no small count in words either
