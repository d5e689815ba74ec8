"""The unit's figures for a period, computed from the records (never typed in)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone

from fellwatch.web.records.models import (
    Arrest,
    Case,
    CustodyAction,
    CustodyEntry,
    Exhibit,
    ExhibitType,
    SafeguardingRecord,
    SearchWarrant,
    Unit,
)

# The figures, in the order every output lists them: key → label.
FIGURES: dict[str, str] = {
    "arrests": "Arrests",
    "warrants_executed": "Search warrants executed",
    "exhibits_seized": "Exhibits seized",
    "exhibits_examined": "Exhibits examined",
    "children_safeguarded": "Children safeguarded",
    "cases_opened": "Cases opened",
    "cases_closed": "Cases closed",
}


def months(date_from: date, date_to: date) -> list[str]:
    """'YYYY-MM' for every month the period touches."""
    out: list[str] = []
    year, month = date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


@dataclass
class Figures:
    date_from: date
    date_to: date
    totals: dict[str, int]
    exhibits_by_type: dict[str, int]
    per_month: dict[str, dict[str, int]] = field(default_factory=dict)  # figure → month → n

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            **self.totals,
            "exhibits_seized_by_type": self.exhibits_by_type,
            "per_month": self.per_month,
        }


def compute(date_from: date, date_to: date, unit: Unit | None = None) -> Figures:
    """All figures for [date_from, date_to], both days included, for one unit (or all)."""
    rng = (date_from, date_to)
    cases = Case.objects.all() if unit is None else Case.objects.filter(unit=unit)

    def local_day(value: Any) -> date:
        day: date = timezone.localtime(value).date()
        return day

    # Each figure as a list of (day, key): the key makes "distinct" figures distinct.
    events: dict[str, list[tuple[date, object]]] = {
        "arrests": [(d, pk) for pk, d in Arrest.objects.filter(
            case__in=cases, arrested_on__range=rng).values_list("pk", "arrested_on")],
        "warrants_executed": [(d, pk) for pk, d in SearchWarrant.objects.filter(
            executed_on__range=rng).filter(
            _warrant_scope(unit)).values_list("pk", "executed_on")],
        "exhibits_seized": [(local_day(at), pk) for pk, at in Exhibit.objects.filter(
            case__in=cases, seized_at__date__range=rng).values_list("pk", "seized_at")],
        # An exhibit examined twice in the period is one exhibit examined.
        "exhibits_examined": _first_per_key(
            (local_day(at), ex) for ex, at in CustodyEntry.objects.filter(
                exhibit__case__in=cases, action=CustodyAction.EXAMINED,
                at__date__range=rng).values_list("exhibit_id", "at")),
        # A child with a referral and a strategy meeting is one child safeguarded.
        "children_safeguarded": _first_per_key(
            (d, (case, ref)) for case, ref, d in SafeguardingRecord.objects.filter(
                case__in=cases, action_on__range=rng).values_list(
                "case_id", "reference", "action_on")),
        "cases_opened": [(d, pk) for pk, d in cases.filter(
            opened_on__range=rng).values_list("pk", "opened_on")],
        "cases_closed": [(d, pk) for pk, d in cases.filter(
            closed_on__range=rng).values_list("pk", "closed_on")],
    }
    all_months = months(date_from, date_to)
    per_month: dict[str, dict[str, int]] = {}
    for name, items in events.items():
        counts = Counter(f"{d.year:04d}-{d.month:02d}" for d, _ in items)
        per_month[name] = {m: counts.get(m, 0) for m in all_months}
    types = Counter(Exhibit.objects.filter(
        case__in=cases, seized_at__date__range=rng).values_list("type", flat=True))
    return Figures(
        date_from=date_from,
        date_to=date_to,
        totals={name: len(events[name]) for name in FIGURES},
        exhibits_by_type={t: types.get(t, 0) for t in ExhibitType.values},
        per_month=per_month,
    )


def _warrant_scope(unit: Unit | None) -> Any:
    from django.db.models import Q

    if unit is None:
        return Q()
    return Q(operation__unit=unit) | Q(case__unit=unit)


def _first_per_key(pairs: Any) -> list[tuple[date, object]]:
    first: dict[object, date] = {}
    for day, key in pairs:
        if key not in first or day < first[key]:
            first[key] = day
    return sorted(((d, k) for k, d in first.items()), key=lambda p: (p[0], str(p[1])))


def summary_csv(figures: Figures) -> str:
    """The publishable summary: aggregates only — no names, no references, no addresses."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["period_from", "period_to", "figure", "month", "value"])
    period = (figures.date_from.isoformat(), figures.date_to.isoformat())
    for name in FIGURES:
        writer.writerow([*period, name, "", figures.totals[name]])
    for type_, n in figures.exhibits_by_type.items():
        writer.writerow([*period, f"exhibits_seized:{type_}", "", n])
    for name in FIGURES:
        for month, n in figures.per_month[name].items():
            writer.writerow([*period, name, month, n])
    return buf.getvalue()


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# How the press summary names each exhibit type: (one, many).
TYPE_WORDS: dict[str, tuple[str, str]] = {
    "phone": ("phone", "phones"), "laptop": ("laptop", "laptops"), "tablet": ("tablet", "tablets"),
    "usb": ("USB stick", "USB sticks"), "sd": ("SD card", "SD cards"),
    "hdd": ("hard drive", "hard drives"), "other": ("other device", "other devices"),
}


def summary_text(figures: Figures) -> str:
    """A short paragraph the press office can use as it stands."""
    t = figures.totals
    kinds = [_plural(n, *TYPE_WORDS[k])
             for k, n in sorted(figures.exhibits_by_type.items(), key=lambda kv: (-kv[1], kv[0]))
             if n]
    seized = _plural(t["exhibits_seized"], "device", "devices")
    if kinds:
        seized += " (" + ", ".join(kinds) + ")"
    return (
        f"Between {_day(figures.date_from)} and {_day(figures.date_to)} the unit's officers "
        f"executed {_plural(t['warrants_executed'], 'search warrant', 'search warrants')} and "
        f"made {_plural(t['arrests'], 'arrest', 'arrests')} for online child sexual abuse and "
        f"related offences. They seized {seized} and completed the examination of "
        f"{_plural(t['exhibits_examined'], 'device', 'devices')}. "
        f"{_plural(t['children_safeguarded'], 'child was', 'children were')} safeguarded. "
        f"{_plural(t['cases_opened'], 'investigation was', 'investigations were')} opened and "
        f"{t['cases_closed']} closed in the period.\n"
    )
