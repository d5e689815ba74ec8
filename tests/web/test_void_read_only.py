"""A void record, and a void case with everything under it, is read-only: its pages refuse
(the site's own 403, the refusal audited, nothing changed), its pages offer no such links, and
the model refuses the save itself (CSV import, scripts). Every path that appends a custody
entry keeps the chain's order: the evidence form and the scan import are refused after a final
disposal, with nothing recorded. Runs on SQLite here and on PostgreSQL via test_postgres.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.web.conftest import aware, write_findings
from tests.web.test_validation import _form_data

KINDS = ("person", "arrest", "warrant", "exhibit", "safeguarding")


def _urls(world: dict[str, Any]) -> list[str]:
    """Every page that adds to or changes the case or something recorded under it."""
    case = world["case"].pk
    exhibit = world["exhibit"].pk
    urls = [reverse("case-edit", kwargs={"case_id": case}),
            reverse("case-void", kwargs={"case_id": case}),
            reverse("custody-new", kwargs={"case_id": case, "exhibit_id": exhibit}),
            reverse("evidence-new", kwargs={"case_id": case, "exhibit_id": exhibit})]
    for kind in KINDS:
        urls.append(reverse(f"{kind}-new", kwargs={"case_id": case}))
        for action in ("edit", "void"):
            urls.append(reverse(f"{kind}-{action}",
                                kwargs={"case_id": case, f"{kind}_id": world[kind].pk}))
    return urls


def _state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of case data, to show that a refusal changed none of it."""
    from fellwatch.web.records import models as m

    models = (m.Case, m.Person, m.Arrest, m.SearchWarrant, m.Exhibit, m.SafeguardingRecord,
              m.CustodyEntry, m.Evidence, m.Scan, m.Finding, m.FindingRecord)
    return {model.__name__: sorted(model.objects.values_list()) for model in models}


def _written_since(seq: int) -> list[str]:
    from fellwatch.web.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(seq__gt=seq).exclude(action__in=["view", "denied"])
                .values_list("action", flat=True))


def _last_seq() -> int:
    from fellwatch.web.audit.models import AuditEntry

    last = AuditEntry.objects.order_by("-seq").first()
    return int(last.seq) if last is not None else 0


def test_every_page_under_a_void_case_refuses_and_changes_nothing(
        world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.audit.models import AuditEntry

    client.force_login(world["supervisor"])
    urls = _urls(world)
    # What a browser would send from each form opened before the case was voided.
    sent = {url: _form_data(client, url) for url in urls}
    for data in sent.values():
        if not data.get("reason"):  # the void forms' and the custody form's
            data["reason"] = "a late second thought"
    void = reverse("case-void", kwargs={"case_id": world["case"].pk})
    assert client.post(void, {"reason": "opened twice"}).status_code == 302
    before, seq = _state(), _last_seq()
    for url in urls:
        for response in (client.get(url), client.post(url, sent[url])):
            body = response.content.decode()
            assert response.status_code == 403, (url, body[-2000:])
            assert "Void: read-only" in body and "is void (opened twice)" in body, url
            assert "Nothing was changed." in body
    assert _state() == before
    assert _written_since(seq) == []
    denied = AuditEntry.objects.filter(seq__gt=seq, action="denied")
    assert denied.count() == 2 * len(urls)
    assert all(json.loads(e.detail)["why"] == "void" for e in denied)


@pytest.mark.parametrize("kind", KINDS)
def test_a_void_record_refuses_its_edit_and_void_pages(
        kind: str, world: dict[str, Any], client: Client) -> None:
    client.force_login(world["supervisor"])
    case = world["case"].pk
    kwargs = {"case_id": case, f"{kind}_id": world[kind].pk}
    edit, void = reverse(f"{kind}-edit", kwargs=kwargs), reverse(f"{kind}-void", kwargs=kwargs)
    data = _form_data(client, edit)
    assert client.post(void, {"reason": "entered twice"}).status_code == 302
    before, seq = _state(), _last_seq()
    for response in (client.get(edit), client.post(edit, data), client.get(void),
                     client.post(void, {"reason": "again, differently"})):
        body = response.content.decode()
        assert response.status_code == 403, body[-2000:]
        assert "is void (entered twice) and cannot be changed." in body
    assert _state() == before
    assert _written_since(seq) == []
    # The rest of the case is not void: a new record of the same kind is still welcome.
    assert client.get(reverse(f"{kind}-new", kwargs={"case_id": case})).status_code == 200


def test_void_items_show_no_edit_void_or_add_links(
        world: dict[str, Any], client: Client) -> None:
    client.force_login(world["supervisor"])
    case, exhibit = world["case"], world["exhibit"]
    case_page = reverse("case", kwargs={"case_id": case.pk})
    exhibit_page = reverse("exhibit", kwargs={"case_id": case.pk, "exhibit_id": exhibit.pk})
    links = ('id="edit-case"', 'id="add-person"', 'id="add-exhibit"', 'id="void-case"',
             'class="edit"', 'class="void-link"')
    body = client.get(case_page).content.decode()
    assert all(link in body for link in links), body
    assert 'id="add-custody"' in client.get(exhibit_page).content.decode()
    void = reverse("exhibit-void", kwargs={"case_id": case.pk, "exhibit_id": exhibit.pk})
    assert client.post(void, {"reason": "seized in error"}).status_code == 302
    body = client.get(exhibit_page).content.decode()
    for link in ('id="edit-exhibit"', 'id="add-custody"', 'id="add-evidence"'):
        assert link not in body
    assert "Exhibit JD/1 is void (seized in error)" in body
    # Nor do the pages behind those links take anything for a void exhibit.
    for name in ("custody-new", "evidence-new"):
        url = reverse(name, kwargs={"case_id": case.pk, "exhibit_id": exhibit.pk})
        refused = client.get(url)
        assert refused.status_code == 403
        assert "nothing can be added to its chain of custody" in refused.content.decode()
    assert client.post(reverse("case-void", kwargs={"case_id": case.pk}),
                       {"reason": "opened twice"}).status_code == 302
    body = client.get(case_page).content.decode()
    for link in links:
        assert link not in body, link
    assert "everything recorded under it are read-only" in body


def test_the_model_refuses_every_change_under_a_void_case(world: dict[str, Any]) -> None:
    from fellwatch.web.records import models as m

    case = world["case"]
    case.voided_at, case.void_reason = aware(2026, 3, 10), "opened twice"
    case.save(update_fields=["voided_at", "void_reason"])
    before, seq = _state(), _last_seq()
    refused = re.escape("Case CUN/2026/001 is void (opened twice): it and everything recorded "
                        "under it are read-only.")
    # The case itself, un-voiding it included.
    case.summary = "rewritten"
    with pytest.raises(m.ReadOnlyRecordError, match=r"is void \(opened twice\)"):
        case.save()
    case.voided_at = None
    with pytest.raises(m.ReadOnlyRecordError):
        case.save(update_fields=["voided_at"])
    # Each record under it: changed, voided, or new (a script, the admin or a form alike).
    for kind in KINDS:
        obj = world[kind]
        obj.voided_at, obj.void_reason = aware(2026, 3, 11), "too late"
        with pytest.raises(m.ReadOnlyRecordError, match=refused):
            obj.save()
    offence = m.OffenceType.objects.first()
    new = [m.Person(case=case, name="New Person"),
           m.Arrest(case=case, person=world["person"], arrested_on=aware(2026, 3, 4).date(),
                    offence=offence),
           m.SearchWarrant(case=case, address="9 Example Road", issued_on=aware(2026, 3, 4)
                           .date()),
           m.Exhibit(case=case, reference="JD/9", type="phone", seized_by="PC 1",
                     seized_at=aware(2026, 3, 4, 9)),
           m.SafeguardingRecord(case=case, reference="C-9", age_band="5-9",
                                identified_how="device", action="referral", agency="CS",
                                action_on=aware(2026, 3, 4).date())]
    for obj in new:
        with pytest.raises(ValidationError) as info:
            obj.full_clean()
        assert info.value.message_dict == {"__all__": [info.value.messages[0]]}
        assert re.match(refused, info.value.messages[0])
        with pytest.raises(m.ReadOnlyRecordError, match=refused):
            obj.save()
    entry = m.CustodyEntry(exhibit=world["exhibit"], at=aware(2026, 3, 5, 9), by="PC 1",
                           action="moved", to_location="Store", reason="booked in")
    with pytest.raises(ValidationError, match=refused):
        entry.save()
    assert _state() == before
    assert _written_since(seq) == []


def test_the_model_refuses_a_change_of_a_void_record(world: dict[str, Any]) -> None:
    from fellwatch.web.records import models as m

    arrest, exhibit = world["arrest"], world["exhibit"]
    for obj, why in ((arrest, "entered twice"), (exhibit, "seized in error")):
        obj.voided_at, obj.void_reason = aware(2026, 3, 10), why
        obj.save(update_fields=["voided_at", "void_reason"])  # the void: its last change
    before = _state()
    arrest.outcome = "nfa"
    with pytest.raises(m.ReadOnlyRecordError,
                       match=r"This arrest is void \(entered twice\) and cannot be changed"):
        arrest.save()
    arrest.voided_at = None
    with pytest.raises(m.ReadOnlyRecordError):
        arrest.save()
    exhibit.serial = "SN-CHANGED"
    with pytest.raises(m.ReadOnlyRecordError, match=r"This exhibit is void \(seized in error\)"):
        exhibit.save()
    entry = m.CustodyEntry(exhibit=exhibit, at=aware(2026, 3, 5, 9), by="PC 1",
                           action="accessed", reason="looked")
    with pytest.raises(ValidationError, match="nothing can be added to its chain of custody"):
        entry.save()
    assert _state() == before
    assert m.Arrest.objects.get(pk=arrest.pk).outcome == "rui"


def test_csv_import_refuses_rows_of_a_void_case(world: dict[str, Any], tmp_path: Path) -> None:
    from fellwatch.web.records.csv_import import CsvImportError, import_csv

    case = world["case"]
    case.voided_at, case.void_reason = aware(2026, 3, 10), "opened twice"
    case.save(update_fields=["voided_at", "void_reason"])
    before = _state()
    rows = {
        "arrests": "case,person,arrested_on,offence\nCUN/2026/001,John Doe,2026-03-05,IIOC-POSS",
        "custody": "case,exhibit,at,by,action,to,reason\n"
                   "CUN/2026/001,JD/1,2026-03-05T09:00,PC 1,moved,Store,booked in",
        "safeguarding": "case,reference,age_band,identified_how,action,agency,action_on\n"
                        "CUN/2026/001,C-7,5-9,device,referral,CS,2026-03-05",
    }
    for kind, text in rows.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text + "\n")
        with pytest.raises(CsvImportError,
                           match=r"line 2: Case CUN/2026/001 is void \(opened twice\)"):
            import_csv(kind, path, "Cyber Unit North")
    assert _state() == before


def _destroy(exhibit: Any) -> None:
    from fellwatch.web.records.models import CustodyEntry

    CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 5, 9), by="PC 1",
                                action="destroyed", reason="court order")


def test_custody_appended_by_a_script_keeps_time_order(world: dict[str, Any]) -> None:
    from fellwatch.web.records.models import CustodyEntry

    exhibit = world["exhibit"]
    CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 4, 10), by="PC 1",
                                action="moved", to_location="Store", reason="booked in")
    with pytest.raises(ValidationError, match="Before the last entry"):
        CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 4, 9), by="PC 1",
                                    action="accessed", reason="looked")
    with pytest.raises(ValidationError, match="Before the seizure"):
        CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 3, 7), by="PC 1",
                                    action="accessed", reason="looked")
    _destroy(exhibit)
    with pytest.raises(ValidationError, match="nothing can follow"):
        CustodyEntry.objects.create(exhibit=exhibit, at=aware(2026, 3, 6, 9), by="PC 1",
                                    action="accessed", reason="looked")
    assert list(exhibit.custody.values_list("action", flat=True)) == [
        "seized", "moved", "destroyed"]


def test_evidence_after_a_final_disposal_is_refused_and_nothing_is_kept(
        world: dict[str, Any], client: Client) -> None:
    from fellwatch.web.records.models import Evidence

    case, exhibit = world["case"], world["exhibit"]
    _destroy(exhibit)
    client.force_login(world["examiner"])
    page = client.get(reverse("exhibit", kwargs={"case_id": case.pk, "exhibit_id": exhibit.pk}))
    body = page.content.decode()
    assert 'id="add-evidence"' not in body and 'id="add-custody"' not in body
    assert "The exhibit was destroyed on 2026-03-05 09:00: nothing can follow." in body
    before, seq = _state(), _last_seq()
    url = reverse("evidence-new", kwargs={"case_id": case.pk, "exhibit_id": exhibit.pk})
    response = client.post(url, {"path": "/evidence/JD-1.E01", "format": "ewf",
                                 "sha256": "e" * 64})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Not recorded: The exhibit was destroyed on 2026-03-05 09:00: nothing can follow." \
        in body
    assert _state() == before and not Evidence.objects.exists()
    assert _written_since(seq) == []


@pytest.mark.parametrize("closing", ["destroyed", "void exhibit", "void case"])
def test_scan_import_is_refused_where_custody_is_closed_and_records_nothing(
        closing: str, world: dict[str, Any], tmp_path: Path) -> None:
    from fellwatch.web.scans import ScanImportError, check_exhibit, import_scan_dir

    exhibit = world["exhibit"]
    expected = {"destroyed": "The exhibit was destroyed on 2026-03-05 09:00: nothing can follow.",
                "void exhibit": "Exhibit JD/1 is void (seized in error): nothing can be added",
                "void case": "Case CUN/2026/001 is void (opened twice)"}[closing]
    if closing == "destroyed":
        _destroy(exhibit)
    else:
        record = exhibit if closing == "void exhibit" else world["case"]
        record.voided_at = aware(2026, 3, 10)
        record.void_reason = "seized in error" if closing == "void exhibit" else "opened twice"
        record.save(update_fields=["voided_at", "void_reason"])
    out = write_findings(tmp_path / "scan")
    before, seq = _state(), _last_seq()
    prefix = "exhibit 'JD/1' of case 'CUN/2026/001' takes no custody entry: "
    with pytest.raises(ScanImportError) as info:
        import_scan_dir(out, "CUN/2026/001", "JD/1", user="erin.examiner")
    assert str(info.value).startswith(prefix + expected)
    assert "\n" not in str(info.value)
    with pytest.raises(ScanImportError, match="takes no custody entry"):
        check_exhibit("CUN/2026/001", "JD/1")
    assert _state() == before
    assert _written_since(seq) == []


def test_scan_import_refused_by_the_entry_itself_records_nothing(
        world: dict[str, Any], tmp_path: Path, monkeypatch: Any) -> None:
    """The check before reading is a courtesy; the entry's own save is the rule. Should the
    exhibit be destroyed while the findings are read, the whole import is undone."""
    from fellwatch.web import scans

    exhibit = world["exhibit"]
    real = scans._finish_scan

    def destroyed_meanwhile(*args: Any) -> None:
        _destroy(exhibit)
        real(*args)

    monkeypatch.setattr(scans, "_finish_scan", destroyed_meanwhile)
    before = _state()
    with pytest.raises(scans.ScanImportError, match="destroyed on 2026-03-05 09:00: nothing "
                                                    "can follow"):
        scans.import_scan_dir(write_findings(tmp_path / "scan"), "CUN/2026/001", "JD/1")
    assert _state() == before


def test_cli_import_scan_after_a_final_disposal_exits_input_with_one_line(
        world: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    from fellwatch.cli import main
    from fellwatch.errors import ExitCode

    _destroy(world["exhibit"])
    out = write_findings(tmp_path / "scan")
    before = _state()
    assert main(["records", "import-scan", str(out), "--case", "CUN/2026/001", "--exhibit",
                 "JD/1", "--user", "erin.examiner"]) == ExitCode.INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fellwatch: exhibit 'JD/1' of case 'CUN/2026/001' takes no custody entry: "
                   "The exhibit was destroyed on 2026-03-05 09:00: nothing can follow."]
    assert _state() == before
