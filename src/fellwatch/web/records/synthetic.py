"""A year of invented records for demonstrations and tests: every name, address and reference
is made up. The figures the year must give are fixed (`YearPlan`); dates are drawn from a seeded
generator, and records just outside the year are added so a period's edges are exercised."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from fellwatch.web.audit.actor import acting_as
from fellwatch.web.records import models as m


@dataclass(frozen=True)
class YearPlan:
    year: int = 2025
    cases_opened: int = 30
    cases_closed: int = 22
    arrests: int = 38
    warrants_executed: int = 28
    warrants_unexecuted: int = 4  # issued in the year, never executed: not counted
    exhibits_by_type: dict[str, int] = field(default_factory=lambda: {
        "phone": 41, "laptop": 17, "tablet": 6, "usb": 12, "sd": 9, "hdd": 5, "other": 3})
    exhibits_examined: int = 61
    examined_twice: int = 9  # re-examined: still one exhibit examined
    children_safeguarded: int = 108
    second_actions: int = 20  # a strategy meeting after the referral: still one child
    operations: int = 4

    @property
    def exhibits_seized(self) -> int:
        return sum(self.exhibits_by_type.values())


NAMES = ["Alex Example", "Sam Sample", "Jo Placeholder", "Chris Dummy", "Pat Fictional",
         "Robin Madeup", "Lee Invented", "Kim Synthetic"]


def _days(rng: random.Random, year: int, n: int) -> list[date]:
    """n days of the year, the first on 1 January and the last on 31 December (the edges)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    span = (last - first).days
    days = [first + timedelta(days=rng.randint(0, span)) for _ in range(n)]
    if n >= 2:
        days[0], days[-1] = first, last
    return sorted(days)


def _at(day: date, hour: int, minute: int) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


@transaction.atomic
def seed_year(unit_name: str = "Cyber Unit North", plan: YearPlan | None = None,
              seed: int = 2025) -> YearPlan:
    plan = plan or YearPlan()
    rng = random.Random(seed)
    y = plan.year
    with acting_as("synthetic-seed"):
        unit, _ = m.Unit.objects.get_or_create(name=unit_name)
        m.OffenceType.ensure_defaults()
        oic = get_user_model().objects.filter(officer__unit=unit).order_by("pk").first()
        offences = list(m.OffenceType.objects.order_by("code"))
        operations = [
            m.Operation.objects.create(
                unit=unit, name=f"Op Synthetic {y}-{i + 1}",
                starts_on=date(y, 2 + 3 * i, 3), ends_on=date(y, 2 + 3 * i, 9),
                lead_officer=f"DI Example {i + 1}")
            for i in range(plan.operations)
        ]

        # Cases: opened in the year; some of them closed in the year; one of each just outside.
        opened = _days(rng, y, plan.cases_opened)
        cases = []
        for i, day in enumerate(opened):
            case = m.Case.objects.create(
                unit=unit, reference=f"SYN/{y}/{i + 1:03d}", operation=rng.choice(operations),
                opened_on=day, officer_in_charge=oic)
            case.offence_types.set(rng.sample(offences, k=min(2, len(offences))))
            cases.append(case)
        for case in rng.sample(cases, plan.cases_closed - 1):
            case.closed_on = min(case.opened_on + timedelta(days=rng.randint(0, 200)),
                                 date(y, 12, 30))
            case.status = m.CaseStatus.CLOSED
            case.save()
        late = next(c for c in cases if c.closed_on is None)
        late.closed_on, late.status = date(y, 12, 31), m.CaseStatus.CLOSED
        late.save()
        before = m.Case.objects.create(unit=unit, reference=f"SYN/{y - 1}/999",
                                       opened_on=date(y - 1, 12, 31),
                                       closed_on=date(y + 1, 1, 1), status=m.CaseStatus.CLOSED)
        outside_case = before

        def person(case: m.Case) -> m.Person:
            return m.Person.objects.create(case=case, name=rng.choice(NAMES))

        # Arrests.
        # The first five outcomes, as when the seed was written: a longer list would shift the
        # random sequence and change every figure the tests pin down.
        outcomes = ["pending", "charged", "rui", "bail", "nfa"]
        for day in _days(rng, y, plan.arrests):
            case = rng.choice(cases)
            m.Arrest.objects.create(case=case, operation=case.operation, person=person(case),
                                    arrested_on=day, offence=rng.choice(offences),
                                    outcome=rng.choice(outcomes))
        for day in (date(y - 1, 12, 31), date(y + 1, 1, 1)):
            m.Arrest.objects.create(case=outside_case, person=person(outside_case),
                                    arrested_on=day, offence=offences[0])

        # Warrants: executed in the year, issued but not executed, executed just outside.
        for i, day in enumerate(_days(rng, y, plan.warrants_executed)):
            case = rng.choice(cases)
            m.SearchWarrant.objects.create(
                operation=case.operation, case=case, address=f"{i + 1} Synthetic Way, Exampleton",
                issued_on=day - timedelta(days=rng.randint(0, 5)), executed_on=day,
                result=rng.choice([m.WarrantResult.SEIZED, m.WarrantResult.NOTHING]))
        for i, day in enumerate(_days(rng, y, plan.warrants_unexecuted)):
            m.SearchWarrant.objects.create(operation=operations[0], address=f"{i + 1} Unused Row",
                                           issued_on=day, result=m.WarrantResult.NOT_EXECUTED)
        for day in (date(y - 1, 12, 31), date(y + 1, 1, 1)):
            m.SearchWarrant.objects.create(case=outside_case, address="Edge House",
                                           issued_on=day, executed_on=day,
                                           result=m.WarrantResult.NOTHING)
        # A warrant of another unit's operation is not this unit's figure.
        south, _ = m.Unit.objects.get_or_create(name=f"{unit_name} (neighbour)")
        neighbour_op = m.Operation.objects.create(unit=south, name=f"Op Neighbour {y}",
                                                  starts_on=date(y, 6, 1), lead_officer="DI N")
        m.SearchWarrant.objects.create(operation=neighbour_op, address="Elsewhere",
                                       issued_on=date(y, 6, 1), executed_on=date(y, 6, 2))

        # Exhibits: seized in the year (the last late on New Year's Eve, local time), their
        # examinations, and two seized just outside.
        kinds = [k for k, n in sorted(plan.exhibits_by_type.items()) for _ in range(n)]
        rng.shuffle(kinds)
        days = _days(rng, y, len(kinds))
        exhibits = []
        for i, (kind, day) in enumerate(zip(kinds, days, strict=True)):
            case = rng.choice(cases)
            hour, minute = (23, 45) if i == len(kinds) - 1 else (rng.randint(6, 18), 0)
            exhibit = m.Exhibit.objects.create(
                case=case, operation=case.operation, reference=f"SYN/{i + 1}", type=kind,
                seal_number=f"SEAL{i + 1:05d}", seized_from="Synthetic Person",
                seized_where="Synthetic Way", seized_at=_at(day, hour, minute), seized_by="PC 0")
            m.CustodyEntry.objects.create(exhibit=exhibit, at=exhibit.seized_at, by="PC 0",
                                          action=m.CustodyAction.SEIZED, reason="seizure",
                                          seal_intact=True, to_location="Synthetic Way")
            exhibits.append(exhibit)
        for ref, at in (("EDGE/1", _at(date(y - 1, 12, 31), 23, 30)),
                        ("EDGE/2", _at(date(y + 1, 1, 1), 0, 15))):
            m.Exhibit.objects.create(case=outside_case, reference=ref, type="phone",
                                     seized_at=at, seized_by="PC 0")
        # Not the one seized at 23:45 on the last day: it cannot have been examined that year.
        examined = rng.sample(exhibits[:-1], plan.exhibits_examined)
        for n, exhibit in enumerate(examined):
            seized_day = timezone.localtime(exhibit.seized_at).date()
            day = min(seized_day + timedelta(days=rng.randint(1, 60)), date(y, 12, 31))
            times = 2 if n < plan.examined_twice else 1
            for k in range(times):
                digest = f"{exhibit.pk:064x}"
                m.CustodyEntry.objects.create(
                    exhibit=exhibit, at=_at(day, 10 + k, 0), by="examiner",
                    action=m.CustodyAction.EXAMINED, reason="examination", seal_intact=True,
                    hash_before=digest, hash_after=digest)

        # Safeguarding: one child per reference; some have a second action in the year.
        how = [c for c, _ in m.IdentifiedHow.choices]
        bands = [c for c, _ in m.AgeBand.choices]
        children: list[tuple[m.Case, str, date]] = []
        for i, day in enumerate(_days(rng, y, plan.children_safeguarded)):
            case = rng.choice(cases)
            ref = f"C-{y}-{i + 1:03d}"
            _safeguard(case, ref, day, m.SafeguardingAction.REFERRAL, rng, how, bands)
            children.append((case, ref, day))
        for case, ref, day in rng.sample(children, plan.second_actions):
            later = min(day + timedelta(days=rng.randint(0, 20)), date(y, 12, 31))
            _safeguard(case, ref, later, m.SafeguardingAction.STRATEGY, rng, how, bands)
        for i, day in enumerate((date(y - 1, 12, 31), date(y + 1, 1, 1))):
            _safeguard(outside_case, f"C-EDGE-{i}", day, m.SafeguardingAction.REFERRAL, rng,
                       how, bands)
    return plan


def _safeguard(case: m.Case, ref: str, day: date, action: Any, rng: random.Random,
               how: list[Any], bands: list[Any]) -> None:
    m.SafeguardingRecord.objects.create(
        case=case, reference=ref, age_band=rng.choice(bands), identified_how=rng.choice(how),
        action=action, agency="Exampleton Children's Services", action_on=day)
