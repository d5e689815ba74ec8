"""The unit's figures for a period, computed from the records (never typed in)."""

from __future__ import annotations

import csv
import io
import math
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
    # Void records (and everything of a void case) count nowhere; the audit log keeps them.
    cases = Case.objects.filter(voided_at__isnull=True)
    if unit is not None:
        cases = cases.filter(unit=unit)
    live = {"voided_at__isnull": True}

    def local_day(value: Any) -> date:
        day: date = timezone.localtime(value).date()
        return day

    # Each figure as a list of (day, key): the key makes "distinct" figures distinct.
    events: dict[str, list[tuple[date, object]]] = {
        "arrests": [(d, pk) for pk, d in Arrest.objects.filter(
            case__in=cases, arrested_on__range=rng, **live).values_list("pk", "arrested_on")],
        "warrants_executed": [(d, pk) for pk, d in SearchWarrant.objects.filter(
            executed_on__range=rng, **live).filter(
            _warrant_scope(unit)).values_list("pk", "executed_on")],
        "exhibits_seized": [(local_day(at), pk) for pk, at in Exhibit.objects.filter(
            case__in=cases, seized_at__date__range=rng, **live).values_list("pk", "seized_at")],
        # An exhibit examined twice in the period is one exhibit examined.
        "exhibits_examined": _first_per_key(
            (local_day(at), ex) for ex, at in CustodyEntry.objects.filter(
                exhibit__case__in=cases, exhibit__voided_at__isnull=True,
                action=CustodyAction.EXAMINED,
                at__date__range=rng).values_list("exhibit_id", "at")),
        # A child with a referral and a strategy meeting is one child safeguarded.
        "children_safeguarded": _first_per_key(
            (d, (case, ref)) for case, ref, d in SafeguardingRecord.objects.filter(
                case__in=cases, action_on__range=rng, **live).values_list(
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
        case__in=cases, seized_at__date__range=rng, **live).values_list("type", flat=True))
    return Figures(
        date_from=date_from,
        date_to=date_to,
        totals={name: len(events[name]) for name in FIGURES},
        exhibits_by_type={t: types.get(t, 0) for t in ExhibitType.values},
        per_month=per_month,
    )


def _warrant_scope(unit: Unit | None) -> Any:
    from django.db.models import Q

    live_case = Q(case__isnull=True) | Q(case__voided_at__isnull=True)
    if unit is None:
        return live_case
    return (Q(operation__unit=unit) | Q(case__unit=unit)) & live_case


def _first_per_key(pairs: Any) -> list[tuple[date, object]]:
    first: dict[object, date] = {}
    for day, key in pairs:
        if key not in first or day < first[key]:
            first[key] = day
    return sorted(((d, k) for k, d in first.items()), key=lambda p: (p[0], str(p[1])))


def summary_csv(figures: Figures, below: int | None = None) -> str:
    """The publishable summary: aggregates only — no names, no references, no addresses —
    with small counts suppressed (`publishable`); `below` defaults to the setting."""
    below = _threshold(below)
    shown = publishable(figures, below)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["period_from", "period_to", "figure", "month", "value"])
    period = (figures.date_from.isoformat(), figures.date_to.isoformat())
    if below > 1:
        writer.writerow([*period, "note", "", suppression_rule(below)])
    for name in FIGURES:
        writer.writerow([*period, name, "", shown[(name, "")]])
    for type_ in figures.exhibits_by_type:
        writer.writerow([*period, f"exhibits_seized:{type_}", "", shown[_type_cell(type_)]])
    for name in FIGURES:
        for month in figures.per_month[name]:
            writer.writerow([*period, name, month, shown[(name, month)]])
    return buf.getvalue()


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _plural(n: str, one: str, many: str) -> str:
    # Only an exact 1 is singular: "<5 child was" would say how many.
    return f"{n} {one if n == '1' else many}"


# How the press summary names each exhibit type: (one, many).
TYPE_WORDS: dict[str, tuple[str, str]] = {
    "phone": ("phone", "phones"), "laptop": ("laptop", "laptops"), "tablet": ("tablet", "tablets"),
    "usb": ("USB stick", "USB sticks"), "sd": ("SD card", "SD cards"),
    "hdd": ("hard drive", "hard drives"), "other": ("other device", "other devices"),
}


def _by_shown_size(item: tuple[str, str]) -> tuple[int, int, str]:
    """Larger published counts first, then withheld, then small ones: ordered by what is
    published only, so the order itself says nothing about a withheld value."""
    value, key = item
    if value.isdigit():
        return (0, -int(value), key)
    return (1 if value == WITHHELD else 2, 0, key)


def summary_text(figures: Figures, below: int | None = None) -> str:
    """A short paragraph the press office can use as it stands, suppressed as the CSV is."""
    below = _threshold(below)
    shown = publishable(figures, below)
    t = {name: shown[(name, "")] for name in FIGURES}
    seized = _plural(t["exhibits_seized"], "device", "devices")
    types = [(shown[_type_cell(k)], k) for k in figures.exhibits_by_type]
    # Zeros go unsaid, and so does a breakdown withheld whole (all `[c]`, see `publishable`).
    if any(n != WITHHELD for n, _ in types):
        kinds = [_plural(n, *TYPE_WORDS[k]) for n, k in sorted(types, key=_by_shown_size)
                 if n != "0"]
        if kinds:
            seized += " (" + ", ".join(kinds) + ")"
    rule = suppression_rule(below) + "\n" if below > 1 else ""
    return (
        f"Between {_day(figures.date_from)} and {_day(figures.date_to)} the unit's officers "
        f"executed {_plural(t['warrants_executed'], 'search warrant', 'search warrants')} and "
        f"made {_plural(t['arrests'], 'arrest', 'arrests')} for online child sexual abuse and "
        f"related offences. They seized {seized} and completed the examination of "
        f"{_plural(t['exhibits_examined'], 'device', 'devices')}. "
        f"{_plural(t['children_safeguarded'], 'child was', 'children were')} safeguarded. "
        f"{_plural(t['cases_opened'], 'investigation was', 'investigations were')} opened and "
        f"{t['cases_closed']} closed in the period.\n{rule}"
    )


# Small-number suppression of the publishable summary (statistical disclosure control): the
# summary leaves the unit, and a small count in it ("1 child safeguarded in March") can point at
# a child or a family. The page and /api/stats stay exact: they are for the unit itself.

Cell = tuple[str, str]  # (figure, month) as in the summary CSV; month "" for a period's figure
WITHHELD = "[c]"  # "confidential", the symbol official statistics use for a withheld figure


def _type_cell(type_: str) -> Cell:
    return (f"exhibits_seized:{type_}", "")


def _threshold(below: int | None) -> int:
    if below is None:
        from django.conf import settings

        below = int(settings.SUMMARY_SUPPRESS_BELOW)
    # "<2" could only mean 1: a threshold of 2 would suppress nothing while claiming to.
    if below < 0 or below == 2:
        raise ValueError(f"suppression threshold {below}: use 0 or 1 (none), or 3 and above")
    return below


def suppression_rule(below: int) -> str:
    """The rule in one line, as both summaries state it."""
    return (f"Counts from 1 to {below - 1} are shown as <{below}; further figures are withheld "
            f"as {WITHHELD} where a total would reveal them.")


def _groups(figures: Figures) -> tuple[dict[Cell, int], list[tuple[Cell, list[Cell]]]]:
    """Every count the summary publishes, and every total it publishes with its parts: each
    figure with its months, and exhibits seized with its types (sharing its total with its
    months)."""
    values: dict[Cell, int] = {}
    groups: list[tuple[Cell, list[Cell]]] = []
    for name in FIGURES:
        values[(name, "")] = figures.totals[name]
        for month, n in figures.per_month[name].items():
            values[(name, month)] = n
        groups.append(((name, ""), [(name, month) for month in figures.per_month[name]]))
    for type_, n in figures.exhibits_by_type.items():
        values[_type_cell(type_)] = n
    groups.append((("exhibits_seized", ""), [_type_cell(t) for t in figures.exhibits_by_type]))
    for total, parts in groups:
        # The reasoning below rests on parts adding up to their total; say so if they do not.
        if sum(values[p] for p in parts) != values[total]:
            raise ValueError(f"{total[0]}: the parts do not add up to the total")
    return values, groups


def publishable(figures: Figures, below: int) -> dict[Cell, str]:
    """Every count of the summary as published: a number, `<below` or `[c]` (withheld).

    Primary suppression: a count from 1 to N − 1 (N = below) is shown as `<N`; 0 stays 0.
    A total under N is shown as `<N` and its breakdown is withheld whole, zeros included: under
    such a total, how many parts are non-zero bounds each of them (N − 1 of them are all 1).
    Secondary suppression: while the published figures still pin down a withheld part, the
    smallest non-zero part still shown in its group is withheld too; a group with none left
    has its breakdown withheld whole. Totals are never withheld beyond `<N`.

    Why it is safe. The reader is assumed to know the published figures, that parts add up to
    their total, and these rules: so a `<N` count lies in [1, N − 1]; a part of a breakdown
    withheld whole in [0, ∞); any other `[c]` part in [N, m], as it is neither 0 nor small and
    no larger than m, the smallest non-zero part shown beside it (the smallest go first).
    Groups share nothing but a total (the months and the types of exhibits seized), so what
    the reader can know is exactly: each withheld count within its range, each group summing
    to its total. `_derivable` computes, for every withheld count, the exact set of values
    consistent with that: a range whose every whole number is attained (the others' sum takes
    every whole number between its least and greatest). The loop ends only when no such range
    is a single value, and it ends: a group withheld whole has no single-valued range
    (N ≥ 3, and a part alone in its group is its total, never small under a total shown).
    Not covered: a reader who replays these choices (why the loop stopped where it did), or
    who sets summaries of overlapping periods side by side.
    """
    values, groups = _groups(figures)
    if below <= 1:
        return {cell: str(n) for cell, n in values.items()}
    small = {cell for cell, n in values.items() if 0 < n < below}
    # The groups (by index: two share a total) whose breakdown is withheld whole.
    whole = {i for i, (total, _) in enumerate(groups) if total in small}
    secondary: set[Cell] = set()
    while pinned := _derivable(values, groups, small, secondary, whole, below):
        grown = False
        for i, (_, parts) in enumerate(groups):
            if i in whole or pinned.isdisjoint(parts):
                continue
            shown = [p for p in parts if values[p] and p not in small | secondary]
            if shown:
                secondary.add(min(shown, key=values.__getitem__))  # ties: the first listed
            else:
                whole.add(i)
            grown = True
        if not grown:  # unreachable (see above); never publish a count that can be derived
            raise AssertionError(f"cannot protect {sorted(pinned)}")
    withheld = secondary | {p for i in whole for p in groups[i][1]}
    return {cell: WITHHELD if cell in withheld else f"<{below}" if cell in small else str(n)
            for cell, n in values.items()}


def _derivable(values: dict[Cell, int], groups: list[tuple[Cell, list[Cell]]],
               small: set[Cell], secondary: set[Cell], whole: set[int],
               below: int) -> set[Cell]:
    """The withheld parts whose value the published figures pin down (see `publishable`).
    Totals are published or `<N`; a `<N` total is never pinned while its breakdown is
    withheld whole, which is always the case."""
    inf = math.inf
    total_range: dict[Cell, tuple[float, float]] = {
        t: (1, below - 1) if t in small else (values[t], values[t]) for t, _ in groups}
    ranges: list[tuple[Cell, float, dict[Cell, tuple[float, float]]]] = []
    for i, (total, parts) in enumerate(groups):
        if i in whole:
            shown_sum, box = 0.0, {p: (0.0, inf) for p in parts}
        else:
            shown = [values[p] for p in parts if p not in small | secondary]
            m = min((n for n in shown if n), default=inf)
            shown_sum = sum(shown)
            box = {p: (1, below - 1) if p in small else (below, m)
                   for p in parts if p in small | secondary}
        lo, hi = total_range[total]
        total_range[total] = (max(lo, shown_sum + sum(b[0] for b in box.values())),
                              min(hi, shown_sum + sum(b[1] for b in box.values())))
        ranges.append((total, shown_sum, box))
    pinned: set[Cell] = set()
    for total, shown_sum, box in ranges:
        t_lo, t_hi = total_range[total]
        for p, (lo, hi) in box.items():
            others_lo = sum(b[0] for q, b in box.items() if q != p)
            others_hi = sum(b[1] for q, b in box.items() if q != p)
            if max(lo, t_lo - shown_sum - others_hi) == min(hi, t_hi - shown_sum - others_lo):
                pinned.add(p)
    return pinned
