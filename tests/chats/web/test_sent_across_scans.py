"""A finding's page lists the messages its picture was sent in on every exhibit of its case
(the laptop's copy of a photo sent on the phone's WhatsApp), never another case's; and a
thread's attachment without a thumbnail says why, as the gallery's tile does. Synthetic,
non-explicit chats and generated benign pictures only."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from tests.chats import fixtures as fx

CASE = "CUN/2026/001"
LAPTOP_PHOTO = "Users/jd/Pictures/holiday.jpg"


@pytest.fixture(scope="module")
def scans(chat_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The phone (its chats, with the WhatsApp photo), a laptop holding the same photo under
    another name (no chats), a second laptop with the photo for another case, and the phone
    again with the photo cut short (PDQ cannot decode it: an error and no thumbnail)."""
    root = tmp_path_factory.mktemp("across")
    photo = (chat_trees["android"] / fx.ANDROID_MEDIA).read_bytes()
    laptops = {}
    for name, extra in (("laptop", "shopping list\n"), ("laptop2", "another list\n")):
        folder = root / name
        (folder / LAPTOP_PHOTO).parent.mkdir(parents=True)
        (folder / LAPTOP_PHOTO).write_bytes(photo)
        (folder / "notes.txt").write_text(extra)
        laptops[name] = folder
    cut = root / "cut-phone"
    shutil.copytree(chat_trees["android"], cut)
    (cut / fx.ANDROID_MEDIA).write_bytes(photo[:len(photo) // 3])
    out = {}
    for name, evidence in (("phone", chat_trees["android.zip"]), ("cut", cut), *laptops.items()):
        out[name] = root / f"{name}-scan"
        scan([str(evidence)], out[name], ScanSettings(workers=1), progress=False)
    return out


def _exhibit(case: Any, reference: str, type_: str, seized_at: Any) -> Any:
    from fellwatch.web.records import models as m

    return m.Exhibit.objects.create(case=case, reference=reference, type=type_,
                                    seized_at=seized_at, seized_by="PC 1")


def _photo(scan_row: Any) -> Any:
    """The scan's finding of the photo (the phone's WhatsApp image or the laptop's copy)."""
    return next(f for f in scan_row.findings.all()
                if f.path.endswith("holiday.jpg") or "WhatsApp Images" in f.path)


def _table(page: str) -> str:
    found = re.search(r'<table id="sent-in">(.*?)</table>', page, re.S)
    assert found is not None, page
    return found.group(1)


def test_a_finding_lists_the_messages_its_picture_was_sent_in_on_the_cases_other_exhibits(
    world: Any, scans: dict[str, Path], client: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.chats import reading
    from fellwatch.web.records.models import Finding
    from fellwatch.web.scans import import_scan_dir

    case, phone_exhibit = world["case"], world["exhibit"]
    laptop_exhibit = _exhibit(case, "JD/2", "laptop", phone_exhibit.seized_at)
    import_scan_dir(scans["phone"], CASE, "JD/1", user="erin.examiner")
    import_scan_dir(scans["laptop"], CASE, "JD/2", user="erin.examiner")
    phone_scan, laptop_scan = phone_exhibit.scans.get(), laptop_exhibit.scans.get()
    on_phone, on_laptop = _photo(phone_scan), _photo(laptop_scan)
    assert on_laptop.sha1 == on_phone.sha1 and on_laptop.path.endswith("holiday.jpg")
    assert laptop_scan.summary["messages"] == 0 < phone_scan.summary["messages"]
    client.force_login(world["examiner"])

    def page_of(finding: Any) -> str:
        url = reverse("review-finding", kwargs={"case_id": case.pk, "finding_id": finding.pk})
        return str(client.get(url).content.decode())

    own = _table(page_of(on_phone))
    rows = _table(page_of(on_laptop))
    # The phone's message, labelled with its exhibit and scan and the phone's item.
    assert "WhatsApp" in rows and fx.CONTACT_B in rows and "2023-03-14" in rows
    assert f"JD/1 · scan {phone_scan.pk}" in rows and "same picture:" in rows
    assert "WhatsApp Images" in rows
    assert rows.count("<tr") - 1 == own.count("<tr") - 1 >= 1
    assert "same picture:" not in own  # on the phone it is the item itself
    links = [h.replace("&amp;", "&") for h in re.findall(r'class="conversation" href="([^"]+)"',
                                                         rows)]
    conversation = reverse("chat-conversation", kwargs={
        "case_id": case.pk, "exhibit_id": phone_exhibit.pk, "scan_id": phone_scan.pk})
    assert links and all(h.startswith(conversation + "?rank=") for h in links)
    thread = client.get(links[0].split("#")[0]).content.decode()
    assert f'id="{links[0].split("#")[1]}"' in thread and fx.CONTACT_B in thread
    view = AuditEntry.objects.filter(action="view", object_type="finding",
                                     object_id=str(on_laptop.pk)).get()
    detail = json.loads(view.detail) if isinstance(view.detail, str) else dict(view.detail)
    ranks = sorted({int(h.split("rank=")[1].split("#")[0]) for h in links})
    assert detail["conversations"] == []
    assert detail["elsewhere"] == [[phone_scan.pk, r] for r in ranks]

    # Where neither has a SHA-1, the MD5 ties them; a different MD5 does not.
    Finding.objects.filter(pk__in=[on_phone.pk, on_laptop.pk]).update(sha1="")
    assert f"JD/1 · scan {phone_scan.pk}" in _table(page_of(on_laptop))
    Finding.objects.filter(pk=on_laptop.pk).update(md5="0" * 32)
    assert 'id="sent-in"' not in page_of(on_laptop)
    Finding.objects.filter(pk=on_laptop.pk).update(sha1=on_phone.sha1, md5=on_phone.md5)
    Finding.objects.filter(pk=on_phone.pk).update(sha1=on_phone.sha1)

    # A page asks a bounded number of scans (its own first) and copies in each, and says
    # how many copies it left out.
    assert 'id="not-searched"' not in page_of(on_laptop)
    monkeypatch.setattr(reading, "SENT_IN_SCANS", 1)
    bounded = page_of(on_laptop)
    assert 'id="sent-in"' not in bounded
    assert 'id="not-searched">1 more copy of this picture in the case' in bounded
    assert 'id="not-searched"' not in page_of(on_phone)
    monkeypatch.setattr(reading, "SENT_IN_SCANS", 8)
    monkeypatch.setattr(reading, "SENT_IN_COPIES", 0)
    assert 'id="not-searched">1 more copy of this picture' in page_of(on_laptop)


def test_another_cases_copy_of_the_picture_never_shows_these_messages(
    world: Any, scans: dict[str, Path], client: Any,
) -> None:
    from fellwatch.web.scans import import_scan_dir

    phone_exhibit, other = world["exhibit"], world["other_case"]
    _exhibit(other, "OC/1", "laptop", phone_exhibit.seized_at)
    import_scan_dir(scans["phone"], CASE, "JD/1", user="erin.examiner")
    import_scan_dir(scans["laptop2"], other.reference, "OC/1", user="fred.foreign")
    theirs = _photo(other.exhibits.get().scans.get())
    assert theirs.sha1 == _photo(phone_exhibit.scans.get()).sha1
    url = reverse("review-finding", kwargs={"case_id": other.pk, "finding_id": theirs.pk})
    # The other unit's supervisor sees their own finding, and nothing of this case's chats.
    client.force_login(world["foreign"])
    page = client.get(url).content.decode()
    assert "Not an attachment" in page and 'id="sent-in"' not in page
    assert fx.CONTACT_B not in page and "WhatsApp" not in page
    # And this case's examiner cannot open the other case's finding at all.
    client.force_login(world["examiner"])
    assert client.get(url).status_code == 404


def test_a_threads_attachment_without_a_thumbnail_says_why(
    world: Any, scans: dict[str, Path], client: Any,
) -> None:
    from fellwatch.web.review import pictures
    from fellwatch.web.scans import import_scan_dir

    import_scan_dir(scans["cut"], CASE, "JD/1", user="erin.examiner")
    scan_row = world["exhibit"].scans.get()
    cut = _photo(scan_row)
    assert cut.error and cut.error.startswith("pdq:") and not cut.pdq
    why = pictures.item_error(cut.error)
    client.force_login(world["examiner"])
    page = client.get(reverse("review-finding", kwargs={
        "case_id": world["case"].pk, "finding_id": cut.pk})).content.decode()
    link = re.search(r'class="conversation" href="([^"]+)"', page)
    assert link is not None
    thread = client.get(link.group(1).replace("&amp;", "&").split("#")[0]).content.decode()
    figures = [f for f in re.findall(r'<figure class="attachment">(.*?)</figure>', thread, re.S)
               if f"findings/{cut.pk}/" in f]
    assert figures, thread
    for figure in figures:
        assert f'<span class="no-thumbnail">no thumbnail: {why}</span>' in figure
        assert 'alt="attachment, no thumbnail"' in figure
    # The picture the thread shows is the grey tile with the same words, no pixel of the item.
    served = client.get(f"/cases/{world['case'].pk}/review/findings/{cut.pk}/thumbnail/")
    assert served.content == pictures.placeholder(f"no thumbnail: {why}").data


def test_a_threads_attachment_whose_thumbnail_failed_says_the_scans_reason(
    world: Any, chat_trees: dict[str, Path], client: Any, tmp_path: Path,
) -> None:
    """The phone scanned as the examiner does, with the declared fault: the WhatsApp photo's
    thumbnail fails to encode (PDQ decoded it); its thread's caption says the scan's reason."""
    from fellwatch.web.records.models import Finding
    from fellwatch.web.scans import import_scan_dir
    from tests.cli_scan import cli_scan

    injected = "OSError: encoder error -2 when writing image file (injected fault)"
    out = cli_scan(chat_trees["android"], tmp_path / "out", tmp_path / "data",
                   FELLWATCH_TEST_FAULTS="1",
                   FELLWATCH_FAULT_THUMBNAIL_FAIL_ON_PATH="/" + fx.ANDROID_MEDIA)
    import_scan_dir(out, CASE, "JD/1", user="erin.examiner")
    scan_row = world["exhibit"].scans.get()
    photo = Finding.objects.get(scan=scan_row, path="/" + fx.ANDROID_MEDIA)
    assert photo.pdq and photo.error is None
    client.force_login(world["examiner"])
    page = client.get(reverse("review-finding", kwargs={
        "case_id": world["case"].pk, "finding_id": photo.pk})).content.decode()
    link = re.search(r'class="conversation" href="([^"]+)"', page)
    assert link is not None and f"no thumbnail: {injected}" in page
    thread = client.get(link.group(1).replace("&amp;", "&").split("#")[0]).content.decode()
    figures = [f for f in re.findall(r'<figure class="attachment">(.*?)</figure>', thread, re.S)
               if f"findings/{photo.pk}/" in f]
    assert figures and all(f'<span class="no-thumbnail">no thumbnail: {injected}</span>' in f
                           for f in figures)
    # Another thread's attachment with a thumbnail says nothing of the kind.
    assert thread.count("no thumbnail:") == len(figures)
