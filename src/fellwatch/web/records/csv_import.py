"""CSV import of a unit's past records, so its statistics start with its past year.

One kind per file; the first row names the columns (order free, unknown columns refused).
All or nothing: a file with any bad row imports nothing, and the error names every bad line.
Choice columns take the stored value or the label shown in the app ("rui" or "Released under
investigation"); dates are YYYY-MM-DD, times YYYY-MM-DDTHH:MM (local time).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from fellwatch.errors import FellwatchError
from fellwatch.web.audit.actor import acting_as
from fellwatch.web.records.models import (
    AgeBand,
    Arrest,
    ArrestOutcome,
    Case,
    CaseStatus,
    CustodyAction,
    CustodyEntry,
    Exhibit,
    ExhibitType,
    IdentifiedHow,
    OffenceType,
    Operation,
    Person,
    PersonRole,
    SafeguardingAction,
    SafeguardingRecord,
    SearchWarrant,
    Unit,
    WarrantResult,
)


class CsvImportError(FellwatchError, ValueError):
    """The file was not imported; the message names each bad line."""


class RowError(ValueError):
    pass


Row = dict[str, str]


def _req(row: Row, name: str) -> str:
    value = (row.get(name) or "").strip()
    if not value:
        raise RowError(f"{name} is empty")
    return value


def _opt(row: Row, name: str) -> str:
    return (row.get(name) or "").strip()


def _date(row: Row, name: str, required: bool = True) -> date | None:
    value = _req(row, name) if required else _opt(row, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is not YYYY-MM-DD") from exc


def _datetime(row: Row, name: str) -> datetime:
    value = _req(row, name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is not YYYY-MM-DDTHH:MM") from exc
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _time(row: Row, name: str) -> time | None:
    value = _opt(row, name)
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is not HH:MM") from exc


def _choice(row: Row, name: str, choices: type[models.TextChoices], default: str = "") -> str:
    value = _opt(row, name)
    if not value:
        if default:
            return default
        raise RowError(f"{name} is empty")
    for stored, label in choices.choices:
        if value.lower() in (str(stored).lower(), str(label).lower()):
            return str(stored)
    raise RowError(f"{name}: {value!r} is not one of {', '.join(choices.values)}")


def _bool(row: Row, name: str) -> bool | None:
    value = _opt(row, name).lower()
    if not value:
        return None
    if value in ("yes", "y", "true", "1"):
        return True
    if value in ("no", "n", "false", "0"):
        return False
    raise RowError(f"{name}: {value!r} is not yes or no")


class _Context:
    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    def operation(self, row: Row, required: bool = False) -> Operation | None:
        name = _req(row, "operation") if required else _opt(row, "operation")
        if not name:
            return None
        operation = Operation.objects.filter(unit=self.unit, name=name).first()
        if operation is None:
            raise RowError(f"operation {name!r} is not known (import operations first)")
        return operation

    def case(self, row: Row) -> Case:
        reference = _req(row, "case")
        case = Case.objects.filter(unit=self.unit, reference=reference).first()
        if case is None:
            raise RowError(f"case {reference!r} is not known (import cases first)")
        return case

    def offence(self, code: str) -> OffenceType:
        offence = OffenceType.objects.filter(code=code).first()
        if offence is None:
            raise RowError(f"offence type {code!r} is not known (see the admin)")
        return offence


def _operation(ctx: _Context, row: Row) -> None:
    _save(Operation(unit=ctx.unit, name=_req(row, "name"), starts_on=_date(row, "starts_on"),
                    ends_on=_date(row, "ends_on", required=False),
                    lead_officer=_req(row, "lead_officer"), notes=_opt(row, "notes")))


def _case(ctx: _Context, row: Row) -> None:
    case = Case(unit=ctx.unit, reference=_req(row, "reference"), operation=ctx.operation(row),
                status=_choice(row, "status", CaseStatus, str(CaseStatus.OPEN)),
                opened_on=_date(row, "opened_on"),
                closed_on=_date(row, "closed_on", required=False), summary=_opt(row, "summary"))
    offences = [ctx.offence(c.strip()) for c in _opt(row, "offence_types").split(";") if c.strip()]
    _save(case)
    case.offence_types.set(offences)


def _warrant(ctx: _Context, row: Row) -> None:
    case = ctx.case(row) if _opt(row, "case") else None
    operation = ctx.operation(row)
    executed_on = _date(row, "executed_on", required=False)
    default = str(WarrantResult.SEIZED if executed_on else WarrantResult.PENDING)
    result = _choice(row, "result", WarrantResult, default)
    _save(SearchWarrant(operation=operation, case=case, address=_req(row, "address"),
                        issued_on=_date(row, "issued_on"), executed_on=executed_on,
                        result=result))


def _arrest(ctx: _Context, row: Row) -> None:
    case = ctx.case(row)
    name = _req(row, "person")
    # A person of that name who is not void; one who is, is refused by the arrest's save (a
    # void record takes no new link), so the line says so instead of linking to it.
    person = (case.persons.filter(name=name)
              .order_by(F("voided_at").asc(nulls_first=True), "pk").first())
    if person is None:
        person = _save(Person(case=case, name=name, role=PersonRole.SUSPECT))
    _save(Arrest(case=case, person=person, operation=ctx.operation(row) or case.operation,
                 arrested_on=_date(row, "arrested_on"), arrested_at=_time(row, "arrested_at"),
                 custody_record=_opt(row, "custody_record"),
                 arresting_officer=_opt(row, "arresting_officer"),
                 offence=ctx.offence(_req(row, "offence")),
                 outcome=_choice(row, "outcome", ArrestOutcome, str(ArrestOutcome.PENDING))))


def _exhibit(ctx: _Context, row: Row) -> None:
    case = ctx.case(row)
    exhibit = _save(Exhibit(
        case=case, operation=ctx.operation(row) or case.operation,
        reference=_req(row, "reference"), type=_choice(row, "type", ExhibitType),
        make=_opt(row, "make"), model=_opt(row, "model"), serial=_opt(row, "serial"),
        seal_number=_opt(row, "seal_number"), seized_from=_opt(row, "seized_from"),
        seized_where=_opt(row, "seized_where"), seized_at=_datetime(row, "seized_at"),
        seized_by=_req(row, "seized_by")))
    CustodyEntry.objects.create(
        exhibit=exhibit, at=exhibit.seized_at, by=exhibit.seized_by, action=CustodyAction.SEIZED,
        to_location=exhibit.seized_where, reason="seizure (imported record)",
        seal_number=exhibit.seal_number)


def _custody(ctx: _Context, row: Row) -> None:
    case = ctx.case(row)
    reference = _req(row, "exhibit")
    exhibit = case.exhibits.filter(reference=reference).first()
    if exhibit is None:
        raise RowError(f"exhibit {reference!r} is not in case {case.reference!r}")
    _save(CustodyEntry(
        exhibit=exhibit, at=_datetime(row, "at"), by=_req(row, "by"),
        action=_choice(row, "action", CustodyAction), from_location=_opt(row, "from"),
        to_location=_opt(row, "to"), reason=_req(row, "reason"),
        seal_intact=_bool(row, "seal_intact"), seal_number=_opt(row, "seal_number"),
        hash_before=_opt(row, "hash_before").lower(), hash_after=_opt(row, "hash_after").lower()))


def _safeguarding(ctx: _Context, row: Row) -> None:
    _save(SafeguardingRecord(
        case=ctx.case(row), reference=_req(row, "reference"),
        age_band=_choice(row, "age_band", AgeBand),
        identified_how=_choice(row, "identified_how", IdentifiedHow),
        action=_choice(row, "action", SafeguardingAction), agency=_req(row, "agency"),
        action_on=_date(row, "action_on"), outcome=_opt(row, "outcome")))


# Model fields whose CSV column has another name.
COLUMN_OF = {"from_location": "from", "to_location": "to", "seized_at": "seized_at"}


def _save(obj: Any) -> Any:
    """Save through the model's own validation (the forms' and the admin's): one set of rules
    for every way a record comes in."""
    try:
        obj.full_clean()
    except ValidationError as exc:
        parts = []
        for name, messages in exc.message_dict.items():
            text = " ".join(messages)
            parts.append(text if name == NON_FIELD_ERRORS else
                         f"{COLUMN_OF.get(name, name)}: {text}")
        raise RowError("; ".join(parts)) from exc
    obj.save()
    return obj


# kind → (columns, row importer). The columns are documented in docs/web.md.
KINDS: dict[str, tuple[tuple[str, ...], Callable[[_Context, Row], None]]] = {
    "operations": (("name", "starts_on", "ends_on", "lead_officer", "notes"), _operation),
    "cases": (("reference", "opened_on", "closed_on", "status", "operation", "offence_types",
               "summary"), _case),
    "warrants": (("operation", "case", "address", "issued_on", "executed_on", "result"),
                 _warrant),
    "arrests": (("case", "person", "arrested_on", "arrested_at", "custody_record",
                 "arresting_officer", "offence", "outcome", "operation"), _arrest),
    "exhibits": (("case", "reference", "type", "make", "model", "serial", "seal_number",
                  "seized_from", "seized_where", "seized_at", "seized_by", "operation"),
                 _exhibit),
    "custody": (("case", "exhibit", "at", "by", "action", "from", "to", "reason", "seal_intact",
                 "seal_number", "hash_before", "hash_after"), _custody),
    "safeguarding": (("case", "reference", "age_band", "identified_how", "action", "agency",
                      "action_on", "outcome"), _safeguarding),
}


def import_csv(kind: str, path: Path, unit: str, user: str | None = None) -> int:
    """Import one CSV file of `kind` for `unit` (created if new); returns the rows imported."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvImportError(f"{path}: cannot be read ({exc})") from exc
    return import_csv_text(kind, text, unit, user, name=str(path))


def import_csv_text(kind: str, text: str, unit: str, user: str | None = None,
                    name: str = "CSV") -> int:
    """The same, from the text of the file (a web upload)."""
    if kind not in KINDS:
        raise CsvImportError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    columns, importer = KINDS[kind]
    path = name
    # strict: a quote opened and never closed is an error on its line, not a field that
    # swallows the rest of the file (and reports the next row's case as unknown).
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise CsvImportError(f"{path}: line 1: broken CSV ({exc})") from exc
    if not fieldnames:
        raise CsvImportError(f"{path}: the file is empty; {kind} has {', '.join(columns)}")
    unknown = sorted(set(fieldnames) - set(columns))
    if unknown:
        raise CsvImportError(f"{path}: unknown columns {', '.join(unknown)}; "
                             f"{kind} has {', '.join(columns)}")
    errors: list[str] = []
    count = 0
    with acting_as(user or "csv-import"), transaction.atomic():
        unit_obj, _ = Unit.objects.get_or_create(name=unit)
        ctx = _Context(unit_obj)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                errors.append(f"line {reader.line_num}: broken CSV ({exc}); is a quote "
                              "opened and never closed?")
                break
            if None in row:
                errors.append(f"line {reader.line_num}: more cells than columns")
                continue
            try:
                with transaction.atomic():
                    importer(ctx, row)
                count += 1
            except RowError as exc:
                errors.append(f"line {reader.line_num}: {exc}")
        if errors:
            shown = errors[:20] + ([f"… and {len(errors) - 20} more"] if len(errors) > 20 else [])
            transaction.set_rollback(True)
            raise CsvImportError(f"{path}: nothing imported; " + "; ".join(shown))
        if count == 0:
            raise CsvImportError(f"{path}: nothing imported; the file has no rows under its "
                                 "header")
    return count
