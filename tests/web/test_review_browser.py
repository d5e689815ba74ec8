"""The gallery in a real browser (Debian Chromium, headless, Playwright): every picture that
reaches the browser is blurred and greyscale (checked on the bytes it received), grading from
the keyboard (one, a selection, a stack), a reveal that is audited, no CSP error."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.review_fixture import by_name, copy_scan, scanned
from tests.web.test_browser import (  # noqa: F401 (browser_page is a fixture)
    PASSWORD,
    browser_page,
    serve_one_at_a_time,
)


@pytest.fixture
def live_url(transactional_db: Any) -> Iterator[str]:
    """As test_browser's live server (one request at a time, the in-memory SQLite shared),
    but serving the apps' static files from their folders: the gallery needs its script."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    with serve_one_at_a_time(StaticFilesHandler) as url:
        yield url


def _hf(data: bytes) -> tuple[str, float]:
    import numpy as np
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    a = np.asarray(img.convert("L"), dtype=np.float64)
    return img.mode, float((np.diff(a, axis=0) ** 2).mean() + (np.diff(a, axis=1) ** 2).mean())


@pytest.mark.browser
@pytest.mark.slow
def test_grading_an_exhibit_from_the_keyboard(live_url: str, make_user: Any,
                                              browser_page: Any, tmp_path: Path,  # noqa: F811
                                              tmp_path_factory: Any) -> None:
    from datetime import date

    from django.utils import timezone

    from fellwatch.store.thumbnails import read_thumbnail
    from fellwatch.web.audit.log import verify
    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.records.models import Case, Exhibit, Finding, Unit
    from fellwatch.web.review.models import Grade
    from fellwatch.web.scans import import_scan_dir

    user = make_user("kim.examiner", "examiner", password=PASSWORD)
    case = Case.objects.create(unit=Unit.objects.get(), reference="BRW/2026/002",
                               opened_on=date(2026, 3, 2), officer_in_charge=user)
    case.assigned.add(user)
    Exhibit.objects.create(case=case, reference="KB/1", type="usb", seized_by="PC 1",
                           seized_at=timezone.now())
    out = copy_scan(scanned(tmp_path_factory.getbasetemp() / "review-browser"), tmp_path / "s")
    import_scan_dir(out, "BRW/2026/002", "KB/1")
    f = by_name(Finding.objects.filter(case=case))

    page, base = browser_page, live_url
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))  # the gallery's script
    received: dict[int, bytes] = {}

    def keep(response: Any) -> None:
        if "/thumbnail/" in response.url:
            fid = int(response.url.split("/findings/")[1].split("/")[0])
            received[fid] = response.body()
            assert "no-store" in response.headers["cache-control"]

    page.on("response", keep)
    page.goto(f"{base}/login/")
    page.fill("#id_username", "kim.examiner")
    page.fill("#id_password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/cases/{case.pk}/review/?sort=folder")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    tiles = page.eval_on_selector_all("#tiles .tile", "ts => ts.map(t => Number(t.dataset.id))")
    assert f["astronaut.png"].pk not in tiles  # known exact match: pre-graded, not shown
    assert len(tiles) == 5  # coffee's two copies are one tile
    assert set(received) == set(tiles)
    for fid, data in received.items():
        finding = Finding.objects.get(pk=fid)
        thumb = read_thumbnail(out, 0, finding.key)
        assert thumb is not None
        mode, hf = _hf(data)
        assert mode == "L" and hf < 0.1 * _hf(thumb.data)[1], finding.path

    # Folder order: /Backup/coffee-copy (the stack), /DCIM/faded-astronaut, /Downloads/chelsea,
    # /Pictures/camera, /Pictures/rocket.
    names = [Path(Finding.objects.get(pk=t).path).name for t in tiles]
    assert names[1:] == ["faded-astronaut.png", "chelsea.png", "camera.png", "rocket.png"]
    page.keyboard.press("Shift+C")  # the whole stack: both coffee copies
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('2')")
    page.keyboard.press("A")  # the faded astronaut candidate, confirmed as suggested
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('graded A')")
    page.keyboard.press("Space")  # chelsea selected
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")  # camera selected
    page.keyboard.press("X")  # the selection: not relevant
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('2')")
    page.keyboard.press("ArrowRight")  # rocket, the other candidate
    before = AuditEntry.objects.count()
    with page.expect_response(lambda r: "revealed=1" in r.url) as revealed:
        page.keyboard.press("R")
    assert revealed.value.status == 200
    rocket = f["rocket.png"].pk
    assert _hf(received[rocket])[0] == "RGB"  # this one item, because it was asked for
    assert AuditEntry.objects.filter(seq__gt=before, action="reveal",
                                     object_id=str(rocket)).exists()
    page.keyboard.press("N")  # the rocket candidate rejected: not indecent
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('graded N')")

    grades = {Path(g.finding.path).name: (g.grade, g.source)
              for g in Grade.objects.select_related("finding")}
    assert grades == {"coffee.png": ("C", "stack"), "coffee-copy.png": ("C", "stack"),
                      "faded-astronaut.png": ("A", "gallery"), "chelsea.png": ("X", "bulk"),
                      "camera.png": ("X", "bulk"), "rocket.png": ("N", "gallery")}
    page.reload()
    assert page.inner_text("#n-to-grade") == "0"
    assert page.locator("#tiles .tile").count() == 0
    assert not problems, problems
    assert verify().ok
