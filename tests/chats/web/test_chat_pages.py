"""The chat pages of the records web app: an exhibit's conversations flagged first, a thread
with its indicators, blurred attachments, a contact across exhibits, and a lead turned into a
safeguarding record (in the Django test client and in Debian's Chromium)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from PIL import Image

from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from tests.chats import fixtures as fx
from tests.web.test_browser import PASSWORD


@pytest.fixture(scope="module")
def chat_scans(chat_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("web-scans")
    android, ios = root / "android", root / "ios"
    scan([str(chat_trees["android.zip"])], android, ScanSettings(workers=1), progress=False)
    scan([str(chat_trees["ios.tar"])], ios, ScanSettings(workers=1), progress=False)
    return {"android": android, "ios": ios}


def _import(world: dict[str, Any], chat_scans: dict[str, Path]) -> dict[str, Any]:
    from fellwatch.web.records import models as m
    from fellwatch.web.scans import import_scan_dir

    second = m.Exhibit.objects.create(case=world["case"], reference="JD/2", type="phone",
                                      seized_at=world["exhibit"].seized_at, seized_by="PC 1")
    import_scan_dir(chat_scans["android"], "CUN/2026/001", "JD/1", user="erin.examiner")
    import_scan_dir(chat_scans["ios"], "CUN/2026/001", "JD/2", user="erin.examiner")
    first = world["exhibit"]
    return {"case_id": world["case"].pk, "exhibit_id": first.pk,
            "scan_id": first.scans.get().pk, "second": second}


def _url(name: str, ids: dict[str, Any], **query: Any) -> str:
    kwargs = {k: ids[k] for k in ("case_id", "exhibit_id", "scan_id")}
    text = reverse(name, kwargs=kwargs)
    return text + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_conversations_flagged_first_and_audited(world: Any, chat_scans: Any, client: Any):
    from fellwatch.web.audit.models import AuditEntry

    ids = _import(world, chat_scans)
    client.force_login(world["examiner"])
    page = client.get(_url("chat-conversations", ids)).content.decode()
    rows = re.findall(r'<tr class="(flagged)?">', page)
    assert rows[:2] == ["flagged", "flagged"] and "flagged" not in rows[2:]
    assert fx.CONTACT_A in page
    entry = AuditEntry.objects.filter(action="view", username="erin.examiner").last()
    assert entry is not None and _detail(entry)["page"] == "conversations"


def test_a_thread_with_indicators(world: Any, chat_scans: Any, client: Any):
    from fellwatch.web.audit.models import AuditEntry

    ids = _import(world, chat_scans)
    client.force_login(world["examiner"])
    page = client.get(_url("chat-conversation", ids, rank=0)).content.decode()
    assert "<mark>im 12 f, u?</mark>" in page
    assert "age-stated" in page and "minor-contact" in page
    assert "Create safeguarding record" in page
    logged = AuditEntry.objects.filter(action="view", username="erin.examiner").last()
    assert logged is not None
    assert _detail(logged)["conversation"] == fx.CONTACT_A
    assert _detail(logged)["page"] == "conversation"


def _attachments(scan: Any) -> tuple[list[tuple[int, str]], list[int]]:
    """From the scan's chat store: (rank, item key) of every attachment that resolved to an
    item, and the ranks of the conversations holding one that did not."""
    from fellwatch.chats.store import ChatStore

    store = ChatStore.open_finished(Path(scan.out_dir) / "scan.sqlite")
    assert store is not None
    resolved, unresolved = [], []
    try:
        for c in store.conversations(with_rank=True):
            rows = store.conversation_messages(c["evidence_index"], c["source"]["item"],
                                               c["app"], c["conversation"])
            for r in rows:
                for a in json.loads(r["attachments"]):
                    if a["item"]:
                        resolved.append((c["rank"], a["item"]))
                    else:
                        unresolved.append(c["rank"])
    finally:
        store.close()
    return resolved, unresolved


def _srcs(page: str) -> list[str]:
    return [s.replace("&amp;", "&") for s in re.findall(r'<img[^>]* src="([^"]+)"', page)]


def test_attachments_are_the_gallerys_blurred_findings_and_a_reveal_is_audited(
    world: Any, chat_scans: Any, client: Any,
):
    from django.conf import settings

    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.records.models import Finding
    from fellwatch.web.review import pictures
    from fellwatch.web.review.models import Reveal

    ids = _import(world, chat_scans)
    scan = world["exhibit"].scans.get()
    resolved, unresolved = _attachments(scan)
    assert resolved and unresolved  # the WhatsApp photo is an item; the MMS part is not
    client.force_login(world["examiner"])
    # No thread sends anything but the gallery's blurred thumbnail URL of a finding.
    for rank in range(scan.summary["conversations"]):
        for src in _srcs(client.get(_url("chat-conversation", ids, rank=rank)).content.decode()):
            assert re.fullmatch(rf"/cases/{ids['case_id']}/review/findings/\d+/thumbnail/", src)
    rank, key = resolved[0]
    finding = Finding.objects.get(scan=scan, evidence_index=0, key=key)
    page = client.get(_url("chat-conversation", ids, rank=rank)).content.decode()
    thumb = f"/cases/{ids['case_id']}/review/findings/{finding.pk}/thumbnail/"
    assert thumb in _srcs(page) and "revealed=1" not in page
    assert f'href="/cases/{ids["case_id"]}/review/findings/{finding.pk}/"' in page
    logged = AuditEntry.objects.filter(action="view", username="erin.examiner").last()
    assert logged is not None and _detail(logged)["attachments"] == [finding.pk]
    # The bytes served are the server's blur of the scan's thumbnail, not the picture.
    served = client.get(thumb)
    assert served.status_code == 200 and "no-store" in served["Cache-Control"]
    blurred = pictures.picture_of(finding, radius=int(settings.REVIEW_BLUR))
    unblurred = pictures.picture_of(finding, radius=0, revealed=True)
    assert served.content == blurred.data != unblurred.data
    assert Image.open(io.BytesIO(served.content)).mode == "L"
    # Unblurred only once this person asked for this item: the reveal is audited.
    assert client.get(thumb + "?revealed=1").status_code == 403
    reveal = re.search(r'data-reveal="([^"]+)"', page)
    assert reveal is not None
    before = AuditEntry.objects.count()
    answer = client.post(reveal.group(1)).json()
    assert answer["revealed"] is True and answer["finding"] == finding.pk
    assert Reveal.objects.filter(user=world["examiner"], finding=finding).count() == 1
    assert AuditEntry.objects.filter(seq__gt=before, action="reveal", object_type="finding",
                                     object_id=str(finding.pk),
                                     username="erin.examiner").count() == 1
    assert client.get(answer["url"]).content == unblurred.data
    # An attachment that is no item of the evidence: a placeholder, no picture at all.
    other = client.get(_url("chat-conversation", ids, rank=unresolved[0])).content.decode()
    assert "attachment not found in the evidence" in other
    figures = re.findall(r'<figure class="attachment">(.*?)</figure>', other, re.S)
    assert any("placeholder" in f and "<img" not in f for f in figures)


def test_a_findings_page_names_the_chats_it_was_sent_in(world: Any, chat_scans: Any,
                                                        client: Any):
    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.records.models import Finding

    ids = _import(world, chat_scans)
    scan = world["exhibit"].scans.get()
    resolved, _ = _attachments(scan)
    key = resolved[0][1]
    finding = Finding.objects.get(scan=scan, evidence_index=0, key=key)
    client.force_login(world["examiner"])
    url = reverse("review-finding", kwargs={"case_id": ids["case_id"], "finding_id": finding.pk})
    page = client.get(url).content.decode()
    table = re.search(r'<table id="sent-in">(.*?)</table>', page, re.S)
    assert table is not None
    rows = table.group(1)
    assert "WhatsApp" in rows and fx.CONTACT_B in rows and "received" in rows
    assert "2023-03-14" in rows  # the message's own time, UTC
    links = [h.replace("&amp;", "&") for h in re.findall(
        r'class="conversation" href="([^"]+)"', rows)]
    assert sorted(r for r, k in resolved if k == key) == sorted(
        int(h.split("rank=")[1].split("#")[0]) for h in links)
    thread = client.get(links[0].split("#")[0]).content.decode()
    assert f'id="{links[0].split("#")[1]}"' in thread and fx.CONTACT_B in thread
    # The picture on the page is the gallery's blurred thumbnail, with the gallery's reveal.
    assert _srcs(page) == [f"/cases/{ids['case_id']}/review/findings/{finding.pk}/thumbnail/"]
    assert f'data-reveal="/cases/{ids["case_id"]}/review/findings/{finding.pk}/reveal/"' in page
    views = AuditEntry.objects.filter(action="view", username="erin.examiner",
                                      object_type="finding", object_id=str(finding.pk))
    assert views.count() == 1 and _detail(views.get())["page"] == "finding"
    assert _detail(views.get())["conversations"] == sorted({r for r, k in resolved if k == key})
    # A finding that is no attachment says so; the gallery's tile links to the page.
    plain = Finding.objects.filter(scan=scan).exclude(key__in=[k for _, k in resolved]).first()
    assert plain is not None
    other = client.get(reverse("review-finding", kwargs={
        "case_id": ids["case_id"], "finding_id": plain.pk})).content.decode()
    assert "Not an attachment" in other and 'id="sent-in"' not in other
    gallery = client.get(reverse("review-gallery", kwargs={"case_id": ids["case_id"]}),
                         {"show": "all"}).content.decode()
    assert f'href="/cases/{ids["case_id"]}/review/findings/{finding.pk}/"' in gallery


def _detail(entry: Any) -> dict[str, Any]:
    detail = entry.detail
    return json.loads(detail) if isinstance(detail, str) else dict(detail)


def test_a_contact_across_the_cases_exhibits(world: Any, chat_scans: Any, client: Any):
    ids = _import(world, chat_scans)
    client.force_login(world["examiner"])
    index = client.get(reverse("chat-contacts", kwargs={"case_id": ids["case_id"]}))
    assert index.status_code == 200
    # The same parent's WhatsApp JID is on both phones (the iOS WhatsApp database too).
    page = client.get(reverse("chat-contacts", kwargs={"case_id": ids["case_id"]}),
                      {"id": fx.CONTACT_B}).content.decode()
    assert "JD/1" in page and "JD/2" in page


def test_the_safeguarding_form_is_prefilled_from_a_contact(world: Any, chat_scans: Any,
                                                           client: Any):
    ids = _import(world, chat_scans)
    client.force_login(world["examiner"])
    page = client.get(_url("chat-conversation", ids, rank=0)).content.decode()
    link = re.search(r'class="button safeguard" href="([^"]+)"', page)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(url).query)
    assert query["identified_how"] == ["online-contact"]
    assert query["age_band"] == ["10-12"]  # the contact said 12
    assert query["reference"][0].startswith("OC-") and fx.CONTACT_A not in query["reference"][0]
    form = client.get(url).content.decode()
    assert 'value="online-contact" selected' in form
    assert query["reference"][0] in form


def test_a_scan_without_chats_and_an_unknown_rank(world: Any, client: Any, tmp_path: Path):
    from fellwatch.web.scans import import_scan_dir
    from tests.web.conftest import write_findings

    import_scan_dir(write_findings(tmp_path / "plain"), "CUN/2026/001", "JD/1",
                    user="erin.examiner")
    exhibit = world["exhibit"]
    ids = {"case_id": world["case"].pk, "exhibit_id": exhibit.pk,
           "scan_id": exhibit.scans.get().pk}
    client.force_login(world["examiner"])
    assert "holds no chats" in client.get(_url("chat-conversations", ids)).content.decode()
    assert "No such conversation" in client.get(
        _url("chat-conversation", ids, rank=99)).content.decode()
    assert not (tmp_path / "plain" / "scan.sqlite").exists()  # reading created nothing


def test_outsiders_are_refused(world: Any, chat_scans: Any, client: Any):
    ids = _import(world, chat_scans)
    client.force_login(world["outsider"])
    finding = world["exhibit"].scans.get().findings.first()
    for url in (_url("chat-conversations", ids), _url("chat-conversation", ids, rank=0),
                reverse("chat-contacts", kwargs={"case_id": ids["case_id"]}),
                reverse("review-finding", kwargs={"case_id": ids["case_id"],
                                                  "finding_id": finding.pk})):
        response = client.get(url)
        assert response.status_code == 404, url
        assert fx.CONTACT_A not in response.content.decode()


@pytest.mark.browser
@pytest.mark.slow
def test_from_a_flagged_conversation_to_a_safeguarding_record(
    live_url: str, world: Any, chat_scans: Any, browser_page: Any,
) -> None:
    from django.conf import settings

    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.records.models import Finding, SafeguardingRecord
    from fellwatch.web.review import pictures

    ids = _import(world, chat_scans)
    user = world["examiner"]
    user.set_password(PASSWORD)
    user.save()
    page, base = browser_page, live_url
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    received: dict[str, bytes] = {}
    page.on("response", lambda r: received.__setitem__(r.url, r.body())
            if "/thumbnail/" in r.url else None)
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")

    # The parent's photo in a thread: the gallery's blurred bytes, until it is revealed.
    rank, key = _attachments(world["exhibit"].scans.get())[0][0]
    finding = Finding.objects.get(scan__exhibit=world["exhibit"], evidence_index=0, key=key)
    page.goto(base + _url("chat-conversation", ids, rank=rank))
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    assert list(received.values()) == [pictures.picture_of(
        finding, radius=int(settings.REVIEW_BLUR)).data]
    before = AuditEntry.objects.count()
    with page.expect_response(lambda r: "revealed=1" in r.url) as revealed:
        page.click("#thread button.reveal >> nth=0")
    assert revealed.value.status == 200
    assert revealed.value.body() == pictures.picture_of(finding, radius=0, revealed=True).data
    assert AuditEntry.objects.filter(seq__gt=before, action="reveal",
                                     object_id=str(finding.pk)).count() == 1
    with page.expect_navigation():
        page.click("#thread a.finding >> nth=0")
    assert fx.CONTACT_B in page.inner_text("#sent-in")
    page.goto(base + reverse("scan", kwargs={k: ids[k] for k in (
        "case_id", "exhibit_id", "scan_id")}))
    page.click("#conversations-link")
    page.click("#conversations tr.flagged a.conversation >> nth=0")
    assert page.inner_text("#score")
    assert "im 12 f, u?" in page.inner_text("#thread mark >> nth=1") or "asl" in \
        page.inner_text("#thread").lower()
    with page.expect_navigation():
        page.click("#contacts a.safeguard >> nth=0")
    assert page.input_value("#id_identified_how") == "online-contact"
    assert page.input_value("#id_age_band") == "10-12"
    reference = page.input_value("#id_reference")
    assert reference.startswith("OC-")
    page.select_option("#id_action", "referral")
    page.fill("#id_agency", "Exampleton children's services")
    page.fill("#id_action_on", "2026-03-10")
    with page.expect_navigation():
        page.click("#save")
    assert not page.locator(".errorlist").all_inner_texts()
    saved = SafeguardingRecord.objects.get(reference=reference)
    assert saved.identified_how == "online-contact"
    assert fx.CONTACT_A in saved.outcome and "WhatsApp" in saved.outcome
    assert not problems, problems


def test_an_items_messages_are_found_by_its_whole_key(tmp_path: Path):
    from fellwatch.chats.base import Message
    from fellwatch.chats.store import ChatStore, SourceOutcome

    store = ChatStore(tmp_path / "scan.sqlite")

    def message(i: int, time: str) -> Message:
        return Message(app="WhatsApp", account="", conversation=f"c{i}", message_id=str(i),
                       time=time, direction="received", sender="s", recipients=(), text="",
                       table="message", rowid=i)

    def attached(*keys: str | None) -> list[dict[str, Any]]:
        return [{"item": k, "name": f"{k}.jpg", "path": None} for k in keys]

    sent = [(message(0, "2023-03-14T10:00:00Z"), attached("k/10")),
            (message(1, "2023-03-14T09:00:00Z"), attached(None, "k/1")),
            (message(2, "2023-03-14T08:00:00Z"), attached('k/1"x')),
            (message(3, "2023-03-14T07:00:00Z"), [])]
    store.commit_source(0, "db", SourceOutcome(path="msgstore.db", allocated=True,
                                               source="whatsapp-android"), sent)
    store.commit_source(1, "db", SourceOutcome(path="msgstore.db", allocated=True,
                                               source="whatsapp-android"),
                        [(message(4, "2023-03-14T06:00:00Z"), attached("k/1"))])
    found = store.attachment_messages(0, "k/1")
    assert [(r["seq"], r["conversation"], r["source_path"]) for r in found] == [
        (1, "c1", "msgstore.db")]  # not k/10, not another evidence's k/1
    assert [r["seq"] for r in store.attachment_messages(0, 'k/1"x')] == [2]
    assert store.attachment_messages(0, "k/2") == []
    store.close()


def test_a_thread_of_a_mailbox_two_apps_hold(world: Any, client: Any,
                                             tmp_path_factory: pytest.TempPathFactory):
    """Messenger's and the Facebook app's copies of one mailbox: one thread, each message once
    with its own id on the page, the other copy named beside a message both held."""
    from fellwatch.web.scans import import_scan_dir

    tree = fx.facebook_pair_tree(tmp_path_factory.mktemp("pair") / "android")
    out = tmp_path_factory.mktemp("pair-scan") / "out"
    scan([str(tree)], out, ScanSettings(workers=1), progress=False)
    import_scan_dir(out, "CUN/2026/001", "JD/1", user="erin.examiner")
    first = world["exhibit"]
    ids = {"case_id": world["case"].pk, "exhibit_id": first.pk,
           "scan_id": first.scans.get().pk}
    client.force_login(world["examiner"])
    page = client.get(_url("chat-conversation", ids, rank=0)).content.decode()
    anchors = re.findall(r'<li class="message [^"]*" id="(m[^"]+)"', page)
    assert len(anchors) == len(fx.RISK) == len(set(anchors))
    orca, katana = "/" + fx.FB_PAIR_ORCA, "/" + fx.FB_PAIR_KATANA
    assert f"database <code>{katana}</code>; also in <span id=\"also-in\"><code>{orca}</code>" \
        in page
    assert f"also in <code>{orca}</code> (messages rowid 4)" in page
    assert ", deleted record)" in page  # line 2: live in Messenger's, deleted in the other
