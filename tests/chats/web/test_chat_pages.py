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


def test_a_thread_with_indicators_and_blurred_attachments(world: Any, chat_scans: Any,
                                                          client: Any):
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
    # The parent's conversation holds the photo: its thumbnail is blurred on the server.
    listing = client.get(_url("chat-conversations", ids)).content.decode()
    ranks = re.findall(r'\?rank=(\d+)">' + re.escape(fx.CONTACT_B), listing)
    thread = client.get(_url("chat-conversation", ids, rank=ranks[0])).content.decode()
    src = re.search(r'<img src="([^"]+)"', thread)
    assert src is not None
    png = client.get(src.group(1).replace("&amp;", "&"))
    assert png["Content-Type"] == "image/png"
    thumb = Image.open(io.BytesIO(png.content)).convert("RGB")
    assert thumb.size == (160, 160)
    # Nothing of the picture's detail is left: neighbouring pixels barely differ.
    raw = thumb.tobytes()

    def at(x: int, y: int, c: int) -> int:
        return raw[(y * 160 + x) * 3 + c]

    steps = [abs(at(x, y, c) - at(x + 1, y, c)) for y in range(160) for x in range(159)
             for c in range(3)]
    assert max(steps) <= 8
    assert len({raw[i] for i in range(0, len(raw), 3)}) > 1  # colours, not the grey placeholder
    last = AuditEntry.objects.filter(action="view", username="erin.examiner").last()
    assert last is not None and _detail(last)["blurred"] is True


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
    for url in (_url("chat-conversations", ids), _url("chat-conversation", ids, rank=0),
                _url("chat-attachment", ids, rank=0, seq=0, n=0),
                reverse("chat-contacts", kwargs={"case_id": ids["case_id"]})):
        response = client.get(url)
        assert response.status_code == 404, url
        assert fx.CONTACT_A not in response.content.decode()


@pytest.mark.browser
@pytest.mark.slow
def test_from_a_flagged_conversation_to_a_safeguarding_record(
    live_url: str, world: Any, chat_scans: Any, browser_page: Any,
) -> None:
    from fellwatch.web.records.models import SafeguardingRecord

    ids = _import(world, chat_scans)
    user = world["examiner"]
    user.set_password(PASSWORD)
    user.save()
    page, base = browser_page, live_url
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")
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
