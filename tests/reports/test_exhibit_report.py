"""The exhibit report: HTML without pictures, and a PDF (headless Chromium) whose text holds
exactly the numbers it was given."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fellwatch.reports.exhibit_report import (
    LOCATIONS,
    EvidenceHash,
    ExhibitCounts,
    ExhibitReportData,
    ExhibitReportError,
    Grader,
    HashSetUsed,
    location_of,
    render_html,
    write_html,
    write_pdf,
)

# (moving, grade, location, how many): distinct totals so a swapped cell cannot pass.
GRADED = [
    (False, "A", "allocated", 3), (False, "A", "deleted", 2), (False, "B", "carved", 5),
    (False, "B", "in-archive", 6), (False, "C", "allocated", 11), (True, "A", "allocated", 1),
    (True, "B", "deleted", 4), (True, "C", "in-archive", 8), (False, "N", "allocated", 13),
    (False, "X", "carved", 17), (True, None, "allocated", 19),
]  # fmt: skip


def _data() -> ExhibitReportData:
    counts = ExhibitCounts()
    for moving, grade, location, n in GRADED:
        for _ in range(n):
            counts.add(moving, grade, location)
    return ExhibitReportData(
        case_ref="OP-HARBOUR/7",
        exhibit_ref="JD/1",
        exhibit_description="Black USB stick, seal 000123",
        counts=counts,
        tool_name="fellwatch",
        tool_version="0.2.0",
        generated="2026-12-01",
        settings={"pdq_threshold": 31, "carve": True},
        hashsets=[HashSetUsed("caid-2026-11", "known-bad", "sha256:" + "ab" * 32, 1234567)],
        evidence=[EvidenceHash("usb.E01", "cd" * 32, "cd" * 32)],
        graders=[Grader("examiner.one", 40), Grader("examiner.two", 49)],
    )


def test_counts_add_up_and_locations_are_named_once() -> None:
    c = _data().counts
    assert (c.stills.A, c.stills.B, c.stills.C) == (5, 11, 11)
    assert (c.moving.A, c.moving.B, c.moving.C) == (1, 4, 8)
    assert (c.not_indecent, c.not_relevant, c.ungraded) == (13, 17, 19)
    assert sum(c.by_location[loc].total for loc in LOCATIONS) == c.stills.total + c.moving.total
    assert location_of({"origin": "carved", "allocated": False}) == "carved"
    assert location_of({"origin": "archive", "allocated": False}) == "in-archive"
    assert location_of({"origin": "filesystem", "allocated": False}) == "deleted"
    assert location_of({"origin": "folder", "allocated": True}) == "allocated"
    with pytest.raises(ExhibitReportError):
        c.add(False, "D", "allocated")


def test_html_has_no_pictures_and_is_private(tmp_path: Path) -> None:
    html = render_html(_data())
    assert "<img" not in html and "<script" not in html and "url(" not in html
    assert "OP-HARBOUR/7" in html and "examiner.two" in html
    out = tmp_path / "report.html"
    write_html(_data(), out)
    assert out.read_text(encoding="utf-8") == html
    assert out.stat().st_mode & 0o777 == 0o600


def _row(text: str, label: str) -> list[int]:
    """The numbers on the line of the PDF's text that starts with `label`."""
    for line in text.splitlines():
        if line.strip().startswith(label):
            return [int(n) for n in re.findall(r"\b\d+\b", line.strip()[len(label):])]
    raise AssertionError(f"no line {label!r} in the PDF text:\n{text}")


def test_pdf_numbers_equal_the_input(tmp_path: Path) -> None:
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is missing: apt-get install poppler-utils (scripts/setup-system.sh)")
    out = tmp_path / "report.pdf"
    data = _data()
    write_pdf(data, out)
    assert out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                          capture_output=True, text=True).stdout
    c = data.counts
    for cat in ("A", "B", "C"):
        still, moving = getattr(c.stills, cat), getattr(c.moving, cat)
        assert _row(text, f"Category {cat}") == [still, moving, still + moving]
    assert _row(text, "Total") == [c.stills.total, c.moving.total,
                                   c.stills.total + c.moving.total]
    assert _row(text, "Graded not indecent") == [13]
    assert _row(text, "Graded not relevant") == [17]
    assert _row(text, "Not yet graded") == [19]
    for loc in LOCATIONS:
        n = c.by_location[loc]
        assert _row(text, loc) == [n.A, n.B, n.C, n.total], loc
    assert _row(text, "examiner.one") == [40]
    assert "caid-2026-11" in text and "1234567" in text
    assert "OP-HARBOUR/7" in text and "JD/1" in text


def test_pdf_without_chromium_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ExhibitReportError, match="missing"):
        write_pdf(_data(), tmp_path / "r.pdf", chromium=str(tmp_path / "no-chromium"))
