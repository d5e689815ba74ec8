"""The exhibit report a court and a charging lawyer need, as HTML and PDF, with no pictures.

Counts per UK category (A, B, C) for still and for moving images, where they were found
(allocated, deleted, carved, inside an archive), the hash sets and versions used, the tool
version and settings, the evidence hashes and who graded. The caller (the web app, a CLI
command) fills an `ExhibitReportData` from the grades and the scan's findings; this module
only renders it (reports recompute nothing).

Build the counts with `ExhibitCounts.add(moving, grade, location)` for each graded or
pre-graded item (`location_of(record)` names an item's location the same way everywhere), so
the report's numbers are the grades' numbers by construction.

The PDF is printed by headless Debian Chromium (`/usr/bin/chromium`) through Playwright from
the same HTML: what a reader sees on screen and on paper is one document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from fellwatch.errors import FellwatchError
from fellwatch.store.private import write_private

UK_CATEGORIES = ("A", "B", "C")
LOCATIONS = ("allocated", "deleted", "carved", "in-archive")
Location = Literal["allocated", "deleted", "carved", "in-archive"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


class ExhibitReportError(FellwatchError):
    """The report cannot be rendered or printed (Chromium missing, a bad grade); one line."""


def location_of(record: Mapping[str, Any]) -> Location:
    """Where an item was found, for the report: carved (from unallocated or unpartitioned
    space), in-archive (a member of an archive, at any depth), deleted (a file-system name no
    longer allocated, orphans too) or allocated. The first that applies, in that order."""
    if record.get("origin") == "carved":
        return "carved"
    if record.get("origin") == "archive":
        return "in-archive"
    if not record.get("allocated", True):
        return "deleted"
    return "allocated"


@dataclass
class CategoryCounts:
    A: int = 0
    B: int = 0
    C: int = 0

    @property
    def total(self) -> int:
        return self.A + self.B + self.C

    def add(self, grade: str, n: int = 1) -> None:
        setattr(self, grade, getattr(self, grade) + n)


@dataclass
class ExhibitCounts:
    """Indecent images by UK category, stills and moving apart, and by location; pictures
    graded not indecent (N) or not relevant (X) are counted apart, never in A/B/C."""

    stills: CategoryCounts = field(default_factory=CategoryCounts)
    moving: CategoryCounts = field(default_factory=CategoryCounts)
    by_location: dict[str, CategoryCounts] = field(
        default_factory=lambda: {loc: CategoryCounts() for loc in LOCATIONS}
    )
    not_indecent: int = 0
    not_relevant: int = 0
    ungraded: int = 0

    def add(self, moving: bool, grade: str | None, location: str) -> None:
        """Count one item: `grade` "A"/"B"/"C", "N", "X", or None (not graded yet)."""
        if location not in LOCATIONS:
            raise ExhibitReportError(f"unknown location {location!r}")
        if grade is None:
            self.ungraded += 1
        elif grade in UK_CATEGORIES:
            (self.moving if moving else self.stills).add(grade)
            self.by_location[location].add(grade)
        elif grade == "N":
            self.not_indecent += 1
        elif grade == "X":
            self.not_relevant += 1
        else:
            raise ExhibitReportError(f"unknown grade {grade!r}")


@dataclass(frozen=True)
class HashSetUsed:
    name: str
    kind: str
    version: str
    entries: int


@dataclass(frozen=True)
class EvidenceHash:
    path: str
    sha256: str
    sha256_after: str | None = None


@dataclass(frozen=True)
class Grader:
    name: str
    grades: int


@dataclass
class ExhibitReportData:
    """Everything the report says, plain values only."""

    case_ref: str
    exhibit_ref: str
    counts: ExhibitCounts
    tool_name: str
    tool_version: str
    generated: str  # the date the caller gives, so the same data renders the same bytes
    exhibit_description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    hashsets: list[HashSetUsed] = field(default_factory=list)
    evidence: list[EvidenceHash] = field(default_factory=list)
    graders: list[Grader] = field(default_factory=list)


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("fellwatch.reports", "templates"),
        autoescape=select_autoescape(default=True),
        keep_trailing_newline=True,
    )


def render_html(data: ExhibitReportData) -> str:
    """The report as one self-contained HTML page (no pictures, scripts or outside links)."""
    return _env().get_template("exhibit_report.html").render(
        d=data,
        categories=UK_CATEGORIES,
        locations=LOCATIONS,
        settings=sorted(data.settings.items()),
    )


def write_html(data: ExhibitReportData, path: Path) -> None:
    """The HTML report, owner-only (it names a case and its exhibit)."""
    write_private(path, render_html(data).encode("utf-8"))


def write_pdf(data: ExhibitReportData, path: Path, chromium: str = CHROMIUM) -> None:
    """Print the HTML report to A4 PDF with headless Chromium. Raises ExhibitReportError."""
    if not Path(chromium).is_file():
        raise ExhibitReportError(
            f"{chromium} is missing: apt-get install chromium (scripts/setup-system.sh)"
        )
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    html = render_html(data)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                         headless=True)
            try:
                page = browser.new_page()
                # Offline by construction: the page has no outside resource, and any request
                # it tried would be refused here.
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="load")
                pdf = page.pdf(format="A4", print_background=True,
                               margin={"top": "15mm", "bottom": "15mm", "left": "12mm",
                                       "right": "12mm"})
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise ExhibitReportError(f"printing the report failed: {exc}") from exc
    write_private(path, pdf)
