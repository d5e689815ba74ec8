"""A void record takes no new link, and a void case's many-to-many links are read-only: the
model refuses both (so the CSV import, the admin and scripts cannot make them, not only the
forms' choices); on PostgreSQL a trigger refuses QuerySet.update() of a void row. The links
are found by walking the models' foreign keys, so a link added later is checked here too.
Runs on SQLite here and on PostgreSQL via test_postgres.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from fellwatch.web.records import models as m
from tests.web.conftest import aware
from tests.web.test_void_read_only import _last_seq, _state, _written_since

CASE_VOID = re.escape("Case CUN/2026/001 is void (opened twice): it and everything recorded "
                      "under it are read-only.")


def _links_to_voidable() -> set[str]:
    """Every foreign key of every model (every app) to a voidable record."""
    return {f"{model._meta.label}.{field.name}" for model in apps.get_models()
            for field in model._meta.concrete_fields
            if field.many_to_one and isinstance(field.related_model, type)
            and issubclass(field.related_model, m.Voidable)}


# What refuses a link to a void record, for each link the walk finds. A link added to the
# models and not here fails test_the_walk_finds_every_link_to_a_voidable_record.
BY_THE_RECORDS_SAVE = {  # Voidable.read_only_reason → void_link_refusal
    "records.Person.case", "records.Arrest.case", "records.SearchWarrant.case",
    "records.Exhibit.case", "records.SafeguardingRecord.case",
    "records.Arrest.person", "records.Exhibit.warrant"}
BY_THE_CHAIN_OF_CUSTODY = {  # custody_closed_reason: a void exhibit or case takes nothing
    "records.CustodyEntry.exhibit", "records.Evidence.exhibit", "records.Scan.exhibit"}
BY_THE_SERVICE_THAT_WRITES_THEM = {  # in bulk: the scan import and grading refuse a void case
    "records.Finding.case", "review.Grade.case"}
VIEWING_IS_NOT_WRITING = {  # the gallery of a void case stays viewable (reveals, welfare)
    "review.Reveal.case", "review.Exposure.case"}


def test_the_walk_finds_every_link_to_a_voidable_record() -> None:
    assert _links_to_voidable() == (BY_THE_RECORDS_SAVE | BY_THE_CHAIN_OF_CUSTODY
                                    | BY_THE_SERVICE_THAT_WRITES_THEM | VIEWING_IS_NOT_WRITING)
    # The model's own walk (what its save checks) finds the same links of each record.
    found = {f"{model._meta.label}.{field.name}" for model in apps.get_models()
             if issubclass(model, m.Voidable) for field in m.voidable_links(model)}
    assert found == BY_THE_RECORDS_SAVE


def _void(record: Any, reason: str) -> None:
    record.voided_at, record.void_reason = aware(2026, 3, 10), reason
    record.save(update_fields=["voided_at", "void_reason"])  # the void: its last change


def _new_person(world: dict[str, Any], name: str = "Jane Roe") -> Any:
    return m.Person.objects.create(case=world["case"], name=name)


def _new_warrant(world: dict[str, Any], address: str = "2 Example Road") -> Any:
    return m.SearchWarrant.objects.create(case=world["case"], address=address,
                                          issued_on=date(2026, 3, 1))


# Link → (a second target to void, a new record linked to a target, the world's record of it).
LINKS: dict[str, tuple[Callable[..., Any], Callable[..., Any], str]] = {
    "records.Arrest.person": (
        _new_person,
        lambda world, target: m.Arrest(case=world["case"], person=target,
                                       arrested_on=date(2026, 3, 4),
                                       offence=m.OffenceType.objects.get(code="IIOC-POSS")),
        "arrest"),
    "records.Exhibit.warrant": (
        _new_warrant,
        lambda world, target: m.Exhibit(case=world["case"], warrant=target, reference="JD/9",
                                        type="phone", seized_by="PC 1",
                                        seized_at=aware(2026, 3, 4, 9)),
        "exhibit"),
}
EDITS = {"arrest": ("outcome", "nfa"), "exhibit": ("serial", "SN-0002")}
# The links of records to voidable records other than their case, as the walk finds them.
OTHER_LINKS = sorted(link for link in BY_THE_RECORDS_SAVE if not link.endswith(".case"))


def test_every_link_other_than_the_case_has_a_test_here() -> None:
    assert sorted(LINKS) == OTHER_LINKS == ["records.Arrest.person", "records.Exhibit.warrant"]


@pytest.mark.parametrize("link", OTHER_LINKS)
def test_a_new_record_linked_to_a_void_record_is_refused(
        link: str, world: dict[str, Any]) -> None:
    second, build, _kind = LINKS[link]
    target = second(world)
    _void(target, "entered twice")
    label = target.audit_label()
    refused = re.escape(f"{label[:1].upper()}{label[1:]} is void (entered twice): no record may "
                        "be linked to it.")
    before, seq = _state(), _last_seq()
    record = build(world, target)
    with pytest.raises(m.ReadOnlyRecordError, match=refused) as info:
        record.full_clean()
    assert info.value.message_dict == {"__all__": [info.value.messages[0]]}
    with pytest.raises(m.ReadOnlyRecordError, match=refused):
        record.save()
    assert _state() == before
    assert _written_since(seq) == []
    # The same record linked to a target that is not void is welcome.
    setattr(record, link.rsplit(".", 1)[1], second(world, "a second one"))
    record.full_clean()
    record.save()


@pytest.mark.parametrize("link", OTHER_LINKS)
def test_an_existing_record_relinked_to_a_void_record_is_refused(
        link: str, world: dict[str, Any]) -> None:
    second, _build, kind = LINKS[link]
    field = link.rsplit(".", 1)[1]
    target = second(world)
    _void(target, "entered twice")
    record = world[kind]
    before = _state()
    setattr(record, field, target)
    with pytest.raises(m.ReadOnlyRecordError, match=r"is void \(entered twice\): no record may "
                                                    "be linked to it"):
        record.save()
    assert _state() == before


@pytest.mark.parametrize("link", OTHER_LINKS)
def test_a_link_made_before_its_record_was_voided_stays_and_may_be_corrected(
        link: str, world: dict[str, Any]) -> None:
    _second, _build, kind = LINKS[link]
    field = link.rsplit(".", 1)[1]
    record = world[kind]
    old_target = getattr(record, field)
    _void(old_target, "entered twice")
    record = type(record).objects.get(pk=record.pk)
    name, value = EDITS[kind]
    setattr(record, name, value)
    record.full_clean()
    record.save()
    assert getattr(type(record).objects.get(pk=record.pk), f"{field}_id") == old_target.pk
    _void(record, "followed the other")  # and it may be voided in its turn
    assert type(record).objects.get(pk=record.pk).voided


def test_csv_arrest_takes_the_person_who_is_not_void_and_refuses_only_a_void_one(
        world: dict[str, Any], tmp_path: Path) -> None:
    from fellwatch.web.records.csv_import import CsvImportError, import_csv

    path = tmp_path / "arrests.csv"
    path.write_text("case,person,arrested_on,offence\n"
                    "CUN/2026/001,John Doe,2026-03-05,IIOC-POSS\n")
    _void(world["person"], "entered twice")
    before = _state()
    with pytest.raises(CsvImportError,
                       match=re.escape("line 2: Person John Doe (case CUN/2026/001) is void "
                                       "(entered twice): no record may be linked to it.")):
        import_csv("arrests", path, "Cyber Unit North")
    assert _state() == before
    again = _new_person(world, "John Doe")
    import_csv("arrests", path, "Cyber Unit North")
    assert list(m.Arrest.objects.filter(arrested_on=date(2026, 3, 5))
                .values_list("person_id", flat=True)) == [again.pk]


def _refused(change: Callable[[], Any]) -> None:
    # A savepoint of its own: the related managers write in the test's transaction.
    with pytest.raises(m.ReadOnlyRecordError, match=CASE_VOID), transaction.atomic():
        change()


def _links(case: Any) -> tuple[list[int], list[int]]:
    return (sorted(case.assigned.values_list("pk", flat=True)),
            sorted(case.offence_types.values_list("pk", flat=True)))


def test_a_void_case_refuses_every_change_of_its_assignments_and_offence_types(
        world: dict[str, Any], make_user: Any) -> None:
    case, examiner, supervisor = world["case"], world["examiner"], world["supervisor"]
    offence = m.OffenceType.objects.get(code="IIOC-POSS")
    unused = m.OffenceType.objects.get(code="IIOC-MAKE")  # no arrest: only the case holds it
    other = m.OffenceType.objects.exclude(cases=case).first()
    assert other is not None
    leaver = make_user("lee.leaver", "examiner")
    case.assigned.add(leaver)
    _void(case, "opened twice")
    links, before, seq = _links(case), _state(), _last_seq()
    changes: list[Callable[[], Any]] = [
        lambda: case.assigned.add(supervisor),
        lambda: case.assigned.remove(examiner),
        lambda: case.assigned.set([supervisor]),
        lambda: case.assigned.clear(),
        lambda: supervisor.assigned_cases.add(case),
        lambda: examiner.assigned_cases.remove(case),
        lambda: examiner.assigned_cases.set([]),
        lambda: examiner.assigned_cases.clear(),
        lambda: case.offence_types.add(other),
        lambda: case.offence_types.remove(offence),
        lambda: case.offence_types.set([other]),
        lambda: case.offence_types.clear(),
        lambda: other.cases.add(case),
        lambda: offence.cases.remove(case),
        lambda: offence.cases.clear(),
        # A deletion that would take the case's through rows with it (the cascade).
        lambda: leaver.delete(),
        lambda: unused.delete(),
    ]
    for change in changes:
        _refused(change)
    assert _links(case) == links
    assert _state() == before
    assert _written_since(seq) == []


def test_through_rows_of_a_void_case_written_directly_are_refused_by_postgresql(
        world: dict[str, Any]) -> None:
    """Django sends no signal for an auto-created through table's rows: on PostgreSQL a
    trigger refuses them; on SQLite the related managers (above) are the guard."""
    case, supervisor = world["case"], world["supervisor"]
    other = m.OffenceType.objects.exclude(cases=case).first()
    _void(case, "opened twice")
    assigned, offences = m.Case.assigned.through, m.Case.offence_types.through
    writes: list[Callable[[], Any]] = [
        lambda: assigned.objects.create(case=case, user=supervisor),
        lambda: assigned.objects.filter(case=case).delete(),
        lambda: assigned.objects.filter(case=case).update(user=supervisor),
        lambda: offences.objects.bulk_create([offences(case=case, offencetype=other)]),
        lambda: offences.objects.filter(case=case).delete(),
    ]
    links = _links(case)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger "
                           "WHERE tgname LIKE %s AND NOT tgisinternal", ["%_void_read_only"])
            tables = {row[0] for row in cursor.fetchall()}
        assert {assigned._meta.db_table, offences._meta.db_table} <= tables
        for write in writes:
            with pytest.raises(IntegrityError, match=CASE_VOID), transaction.atomic():
                write()
        assert _links(case) == links
    else:
        assert connection.vendor == "sqlite"
        assigned.objects.create(case=case, user=supervisor)  # what docs/web.md says of SQLite
        assert supervisor.pk in _links(case)[0]


def test_a_case_that_is_not_void_still_takes_changes_of_its_links(
        world: dict[str, Any]) -> None:
    case, examiner, supervisor = world["case"], world["examiner"], world["supervisor"]
    case.assigned.add(supervisor)
    examiner.assigned_cases.remove(case)
    case.offence_types.clear()
    assert _links(case) == ([supervisor.pk], [])
    # One void case among a user's cases stops a clear from their side: nothing is cleared.
    second = m.Case.objects.create(unit=world["unit"], reference="CUN/2026/002",
                                   opened_on=date(2026, 3, 2))
    second.assigned.add(supervisor)
    _void(second, "opened twice")
    with pytest.raises(m.ReadOnlyRecordError, match="Case CUN/2026/002 is void"), \
            transaction.atomic():
        supervisor.assigned_cases.clear()
    assert sorted(supervisor.assigned_cases.values_list("reference", flat=True)) == [
        "CUN/2026/001", "CUN/2026/002"]
    # Nor is a void case deleted (nothing else of it holds it back: no person, no exhibit).
    with pytest.raises(m.ReadOnlyRecordError, match="Case CUN/2026/002 is void"), \
            transaction.atomic():
        second.delete()
    assert m.Case.objects.filter(pk=second.pk).exists()


def _voidable_tables() -> set[str]:
    return {model._meta.db_table for model in apps.get_models()
            if issubclass(model, m.Voidable)}


def test_update_of_a_void_row_is_refused_by_postgresql_and_left_to_the_model_on_sqlite(
        world: dict[str, Any]) -> None:
    arrest, person = world["arrest"], world["person"]
    _void(arrest, "entered twice")  # the void itself passes the trigger
    _void(world["case"], "opened twice")
    stored = m.Arrest.objects.values_list("outcome", flat=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger "
                           "WHERE tgname LIKE %s AND NOT tgisinternal", ["%_void_read_only"])
            found = {row[0] for row in cursor.fetchall()}
        assert found == _voidable_tables() | {"records_case_assigned",
                                              "records_case_offence_types"}
        for update, refused in (
                (lambda: m.Arrest.objects.filter(pk=arrest.pk).update(outcome="nfa"),
                 r"This arrest is void \(entered twice\) and cannot be changed\."),
                (lambda: m.Arrest.objects.filter(pk=arrest.pk).update(voided_at=None),
                 r"This arrest is void \(entered twice\)"),
                (lambda: m.Case.objects.filter(pk=world["case"].pk).update(summary="rewritten"),
                 r"This case is void \(opened twice\) and cannot be changed\.")):
            with pytest.raises(IntegrityError, match=refused), transaction.atomic():
                update()
        assert stored.get(pk=arrest.pk) == "rui"
        assert m.Arrest.objects.get(pk=arrest.pk).voided
        assert m.Case.objects.get(pk=world["case"].pk).summary == ""
        # A row that is not void is not the trigger's business (the model's save is the
        # guard of a record under a void case).
        assert m.Person.objects.filter(pk=person.pk).update(role="witness") == 1
    else:
        assert connection.vendor == "sqlite"
        # No trigger: QuerySet.update() is not the model's save. The project's code changes
        # case data only through save(); this is what docs/web.md says of SQLite.
        assert m.Arrest.objects.filter(pk=arrest.pk).update(outcome="nfa") == 1
        assert stored.get(pk=arrest.pk) == "nfa"
