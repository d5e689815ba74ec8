"""report.html: a readable exhibit summary. It shows no picture content, ever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from fellwatch.reports.findings import categories, exif_lead, is_lead


def matched_by(item: dict[str, Any]) -> list[str]:
    """One line per hash set: the hash kinds that matched, with PDQ distance and variant."""
    by_set: dict[str, list[str]] = {}
    for m in item["matches"]:
        text = m["kind"]
        if m.get("distance"):
            text += f" distance {m['distance']}"
        if m.get("variant") and m["variant"] != "original":
            text += f" {m['variant']}"
        if m.get("frames"):
            text += f" frames {m['frames']}"
        by_set.setdefault(m["hashset"], []).append(text)
    return [f"{name}: {', '.join(kinds)}" for name, kinds in by_set.items()]


def write_html(
    findings: dict[str, Any], run: dict[str, Any], path: Path,
    flagged: list[dict[str, Any]] | None = None,
) -> None:
    """`flagged`: the flagged conversations (conversations.json order), shown with their
    indicators; message text appears only where it is the indicator's excerpt."""
    env = Environment(
        loader=PackageLoader("fellwatch.reports", "templates"),
        autoescape=select_autoescape(default=True),
        keep_trailing_newline=True,
    )
    items = findings["items"]
    matched = [i for i in items if categories(i)]
    errors = [i for i in items if i["error"]]
    leads = [(i, exif_lead(i)) for i in items if is_lead(i)]
    html = env.get_template("report.html").render(
        findings=findings,
        run=run,
        matched=matched,
        errors=errors,
        leads=leads,
        flagged=flagged or [],
        review=sum(1 for i in items if i["review"]),
        categories=categories,
        matched_by=matched_by,
    )
    path.write_text(html, encoding="utf-8")
