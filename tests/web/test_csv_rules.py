"""The CSV import goes through the models' own validation: every rule has a failing row in
tests/web/data/csv_rules/, each line is refused with its column and message, nothing of the
file is imported, no Django internals (`__all__:`) leak, and a file without rows is an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "csv_rules"

# kind → {line: what its error says}
EXPECTED: dict[str, dict[int, str]] = {
    "operations": {2: "ends_on: An operation cannot end before it starts.",
                   3: "starts_on: More than a year ahead",
                   4: "starts_on: '2026-02-30' is not YYYY-MM-DD"},
    "cases": {2: "opened_on: This date is after today.",
              3: "closed_on: A case cannot close before it opened.",
              4: "closed_on: A closed case needs the date it closed.",
              5: "status: A case with a closing date is closed.",
              6: "Case with this Unit and Reference already exists.",
              7: "operation 'Op Nowhere' is not known"},
    "warrants": {2: "issued_on: This date is after today.",
                 3: "executed_on: This date is after today.",
                 4: "executed_on: A warrant cannot be executed before it was issued.",
                 5: "result: An executed warrant needs the result of its execution.",
                 6: "executed_on: When was it executed?",
                 7: "address: A warrant belongs to an operation or a case."},
    "arrests": {2: "arrested_on: This date is after today.",
                3: "arrested_at: '25:00' is not HH:MM",
                4: "offence type 'NO-SUCH' is not known",
                5: "outcome: 'hanged' is not one of"},
    "exhibits": {2: "seized_at: This time is in the future.",
                 3: "Exhibit with this Case and Reference already exists.",
                 4: "type: 'toaster' is not one of"},
    "custody": {2: "at: Before the seizure",
                3: "to: A movement needs the place it went to.",
                4: "hash_after: A SHA-256 is 64 hexadecimal digits.",
                5: "at: This time is in the future.",
                7: "at: Before the last entry",
                9: "action: The exhibit was destroyed on 2026-03-05 10:00: nothing can follow."},
    "safeguarding": {2: "action_on: This date is after today.",
                     3: "action_on: '2026-03-04T10:00' is not YYYY-MM-DD",
                     4: "case 'CUN/2026/002' is not known"},
}


def _error(kind: str, name: str) -> str:
    from fellwatch.web.records.csv_import import CsvImportError, import_csv

    with pytest.raises(CsvImportError) as caught:
        import_csv(kind, DATA / name, "Cyber Unit North", user="sam.supervisor")
    return str(caught.value)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_rule_has_a_failing_row(kind: str, world: dict[str, Any]) -> None:
    from fellwatch.web.records import models as m

    before = {model: model.objects.count() for model in (
        m.Operation, m.Case, m.SearchWarrant, m.Arrest, m.Person, m.Exhibit, m.CustodyEntry,
        m.SafeguardingRecord)}
    message = _error(kind, f"{kind}.csv")
    assert message.startswith(f"{DATA / kind}.csv: nothing imported; ")
    lines = {int(part.split(":", 1)[0].removeprefix("line ")): part.split(":", 1)[1].strip()
             for part in message.split("; nothing imported; ")[-1].split("; line ")
             if part.split(":", 1)[0].removeprefix("line ").isdigit()}
    for line, text in EXPECTED[kind].items():
        assert line in lines, (line, message)
        assert text in lines[line], (line, lines[line])
    # Only the lines expected fail (custody.csv lines 6 and 8 are good rows to check against).
    assert set(lines) == set(EXPECTED[kind]), message
    assert "__all__" not in message
    # All or nothing: the file left no record behind.
    assert {model: model.objects.count() for model in before} == before




def test_a_broken_quote_is_named_as_such(world: dict[str, Any]) -> None:
    message = _error("safeguarding", "broken_quote.csv")
    assert "broken CSV" in message and "quote" in message
    assert "is not known" not in message


def test_a_file_without_rows_is_not_a_success(world: dict[str, Any]) -> None:
    assert "the file has no rows" in _error("safeguarding", "header_only.csv")


def test_a_row_with_more_cells_than_columns_is_refused(world: dict[str, Any]) -> None:
    assert "line 2: more cells than columns" in _error("safeguarding", "extra_cells.csv")


def test_the_import_page_shows_the_same_and_never_imported_0(world: dict[str, Any],
                                                             client: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(world["supervisor"])
    upload = SimpleUploadedFile("header_only.csv", (DATA / "header_only.csv").read_bytes())
    page = client.post("/import/", {"kind": "safeguarding", "file": upload}, follow=True)
    body = page.content.decode()
    assert "Imported 0" not in body and "the file has no rows" in body
