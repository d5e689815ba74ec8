"""The records in a real browser: Debian's Chromium, headless, driven by Playwright, against
Django's live test server. One officer's day: an operation with a warrant, a case with an
arrest and two exhibits, one exhibit moved, a child safeguarded, and the figures change."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "a long synthetic passphrase 42"
PERIOD = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup-system.sh)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe (the live server answers from its own thread).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        browser.close()
        pw.stop()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def live_url(transactional_db: Any) -> Iterator[str]:
    """Django's live test server, answering one request at a time.

    The test database is SQLite in memory, one connection shared with the server thread.
    pytest-django's `live_server` answers each request in a new thread on that one connection;
    the three charts of the statistics page, fetched at once, then lock each other up.
    """
    from django.test.testcases import _StaticFilesHandler as StaticFilesHandler

    with serve_one_at_a_time(StaticFilesHandler) as url:
        yield url


@contextmanager
def serve_one_at_a_time(handler: Any) -> Iterator[str]:
    """A live server thread of `handler` answering one request at a time, sharing the
    in-memory SQLite connections with the test (the browser tests' server)."""
    from django.core.servers.basehttp import WSGIServer
    from django.db import connections
    from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

    class OneAtATime(LiveServerThread):
        def _create_server(self, connections_override: Any = None) -> WSGIServer:
            return WSGIServer((self.host, self.port), QuietWSGIRequestHandler,
                              allow_reuse_address=False)

    shared = {c.alias: c for c in connections.all()
              if c.vendor == "sqlite" and c.is_in_memory_db()}
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread = OneAtATime("localhost", handler, connections_override=shared, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://localhost:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


def _figures(page: Any, base: str) -> dict[str, int]:
    page.goto(f"{base}/stats/?{PERIOD}")
    keys = ["arrests", "warrants_executed", "exhibits_seized", "exhibits_examined",
            "children_safeguarded", "cases_opened", "cases_closed"]
    out = {k: int(page.inner_text(f"#fig-{k}")) for k in keys}
    out.update({f"type:{t}": int(page.inner_text(f"#type-{t}")) for t in ("phone", "laptop")})
    return out


def _save(page: Any) -> None:
    with page.expect_navigation():
        page.click("#save")
    errors = page.locator(".errorlist").all_inner_texts()
    assert not errors, errors


@pytest.mark.browser
@pytest.mark.slow
def test_an_officers_day_in_the_browser(live_url: str, make_user: Any,
                                        browser_page: Any) -> None:
    from fellwatch.web.audit.log import verify
    from fellwatch.web.records.models import CustodyEntry

    # A supervisor: the statistics below are read exact, which is the supervisors' alone.
    make_user("kim.examiner", "supervisor", password=PASSWORD)
    page, base = browser_page, live_url
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text)
            if "Content Security Policy" in msg.text else None)

    page.goto(f"{base}/login/")
    page.fill("#id_username", "kim.examiner")
    page.fill("#id_password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")
    before = _figures(page, base)
    assert before == dict.fromkeys(before, 0)

    page.goto(f"{base}/operations/new/")
    page.fill("#id_name", "Op Browser")
    page.fill("#id_starts_on", "2026-03-02")
    page.fill("#id_ends_on", "2026-03-08")
    page.fill("#id_lead_officer", "DI Example")
    _save(page)
    assert page.inner_text("h1") == "Operation Op Browser"

    page.click("#add-warrant")
    page.fill("#id_address", "7 Synthetic Close, Exampleton")
    page.fill("#id_issued_on", "2026-03-01")
    page.fill("#id_executed_on", "2026-03-03")
    page.select_option("#id_result", "seized")
    _save(page)
    assert "7 Synthetic Close" in page.inner_text("#warrants")

    page.click("#add-case")
    page.fill("#id_reference", "BRW/2026/001")
    page.fill("#id_opened_on", "2026-03-02")
    page.check("label:has-text('Possessing indecent images of children') input")
    _save(page)
    assert page.inner_text("h1") == "Case BRW/2026/001"

    page.click("#add-person")
    page.fill("#id_name", "Jamie Synthetic")
    _save(page)
    page.click("#add-arrest")
    page.select_option("#id_person", label="Jamie Synthetic (suspect)")
    page.fill("#id_arrested_on", "2026-03-03")
    page.select_option("#id_offence", label="Possessing indecent images of children")
    page.select_option("#id_outcome", "bail")
    _save(page)
    assert "Jamie Synthetic" in page.inner_text("#arrests")

    case_url = page.url
    for reference, kind in (("JS/1", "phone"), ("JS/2", "laptop")):
        page.goto(case_url)
        page.click("#add-exhibit")
        page.fill("#id_reference", reference)
        page.select_option("#id_type", kind)
        page.fill("#id_seal_number", f"SEAL-{reference}")
        page.fill("#id_seized_where", "7 Synthetic Close")
        page.fill("#id_seized_at", "2026-03-03T07:30")
        _save(page)
        assert page.inner_text("h1").startswith(f"Exhibit {reference}")

    # Move JS/2 to the exhibit store: a custody entry.
    page.click("#add-custody")
    page.select_option("#id_action", "moved")
    page.fill("#id_to_location", "Exhibit store B")
    page.fill("#id_reason", "booked into the store")
    page.select_option("#id_seal_intact", "true")
    _save(page)
    custody = page.inner_text("#custody")
    assert "Exhibit store B" in custody and "booked into the store" in custody
    assert list(CustodyEntry.objects.filter(exhibit__reference="JS/2")
                .values_list("action", "by")) == [("seized", "kim.examiner"),
                                                  ("moved", "kim.examiner")]

    page.goto(case_url)
    page.click("#add-safeguarding")
    page.fill("#id_reference", "C-BRW-001")
    page.select_option("#id_age_band", "13-15")
    page.select_option("#id_identified_how", "online-contact")
    page.select_option("#id_action", "referral")
    page.fill("#id_agency", "Exampleton Children's Services")
    page.fill("#id_action_on", "2026-03-04")
    _save(page)
    assert "C-BRW-001" in page.inner_text("#safeguarding")

    after = _figures(page, base)
    assert after == {**before, "arrests": 1, "warrants_executed": 1, "exhibits_seized": 2,
                     "children_safeguarded": 1, "cases_opened": 1, "type:phone": 1,
                     "type:laptop": 1}
    # The charts are real pictures, drawn on the server.
    widths = page.eval_on_selector_all("img.chart", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 3 and all(w > 0 for w in widths)
    # The page's figures are exact; its publishable paragraph suppresses the small ones.
    assert "made <5 arrests " in page.inner_text("#summary")

    page.click("#logout")
    page.wait_for_url(f"{base}/login/")
    assert not csp_errors, csp_errors
    assert verify().ok


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
@pytest.mark.slow
def test_correcting_voiding_paging_and_searching_in_the_browser(
        live_url: str, world: dict[str, Any], browser_page: Any) -> None:
    from fellwatch.web.audit.log import verify
    from fellwatch.web.records import models as m
    from tests.web.conftest import aware

    supervisor = world["supervisor"]
    supervisor.set_password(PASSWORD)
    supervisor.first_name, supervisor.last_name = "Sam", "Supervisor"
    supervisor.save()
    case = world["case"]
    page, base = browser_page, live_url
    _login(page, base, "sam.supervisor")

    # The date round trip: the edit page shows the stored dates, saving unchanged keeps them.
    page.goto(f"{base}/cases/{case.pk}/edit/")
    assert page.input_value("#id_opened_on") == "2026-03-02"
    _save(page)
    case.refresh_from_db()
    assert case.opened_on.isoformat() == "2026-03-02" and case.closed_on is None
    page.goto(f"{base}/cases/{case.pk}/warrants/{world['warrant'].pk}/edit/")
    assert page.input_value("#id_issued_on") == "2026-03-01"
    assert page.input_value("#id_executed_on") == "2026-03-03"

    # A wrong date: the message by its field, everything typed still there.
    page.fill("#id_address", "1 Example Road, Exampleton (rear)")
    page.fill("#id_executed_on", "2026-02-27")
    with page.expect_navigation():
        page.click("#save")
    assert "cannot be executed before it was issued" in page.inner_text("form.record")
    assert page.input_value("#id_address") == "1 Example Road, Exampleton (rear)"
    page.fill("#id_executed_on", "2026-03-03")
    _save(page)
    assert "1 Example Road, Exampleton (rear)" in page.inner_text("#warrants")

    # Correct an arrest from the case page.
    page.click("#arrests a.edit")
    page.fill("#id_custody_record", "CR/2026/0042")
    page.fill("#id_arrested_at", "06:40")
    page.select_option("#id_outcome", "charged-remanded")
    _save(page)
    arrests = page.inner_text("#arrests")
    assert "CR/2026/0042" in arrests and "06:40" in arrests and "remanded" in arrests

    # Void the safeguarding record: struck through with its reason, out of the figures.
    page.click("#safeguarding a.void-link")
    page.fill("#id_reason", "recorded on the wrong case")
    _save(page)
    assert "void: recorded on the wrong case" in page.inner_text("#safeguarding")
    assert page.locator("#safeguarding tr.void").count() == 1
    assert _figures(page, base)["children_safeguarded"] == 0

    # Paging, natural order and search over 61 exhibits.
    for n in range(2, 62):
        m.Exhibit.objects.create(case=case, reference=f"JD/{n}", type="usb",
                                 serial=f"USB-{n:04d}", seized_at=aware(2026, 3, 3, 8),
                                 seized_by="PC 1234")
    page.goto(f"{base}/exhibits/")
    refs = page.eval_on_selector_all("#exhibits tr td:first-child a",
                                     "links => links.map(a => a.textContent)")
    assert refs == [f"JD/{n}" for n in range(1, 51)]
    with page.expect_navigation():
        page.click("#next-page")
    refs = page.eval_on_selector_all("#exhibits tr td:first-child a",
                                     "links => links.map(a => a.textContent)")
    assert refs == [f"JD/{n}" for n in range(51, 62)]
    page.fill("#id_q", "USB-0042")
    with page.expect_navigation():
        page.click("#search")
    assert page.eval_on_selector_all("#exhibits tr td:first-child a",
                                     "links => links.map(a => a.textContent)") == ["JD/42"]
    page.goto(f"{base}/cases/?q=John+Doe")
    assert "CUN/2026/001" in page.inner_text("#cases")
    page.goto(f"{base}/cases/?q=nobody-at-all")
    assert "No cases." in page.inner_text("#cases")
    assert verify().ok
