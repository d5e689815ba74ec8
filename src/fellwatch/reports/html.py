"""report.html: a readable exhibit summary. It shows no picture content, ever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from fellwatch.record import ItemRecord
from fellwatch.reports.findings import ScanOutputs
from fellwatch.store.inventory import exif_lead
from fellwatch.store.private import write_private_text


def matched_by(item: ItemRecord) -> list[str]:
    """One line per hash set: the hash kinds that matched, with PDQ distance and variant."""
    by_set: dict[str, list[str]] = {}
    for m in item.matches:
        text = m.kind
        if m.distance:
            text += f" distance {m.distance}"
        if m.variant and m.variant != "original":
            text += f" {m.variant}"
        if m.frames:
            text += f" frames {m.frames}"
        by_set.setdefault(m.hashset, []).append(text)
    return [f"{name}: {', '.join(kinds)}" for name, kinds in by_set.items()]


def write_html(
    outputs: ScanOutputs, run: dict[str, Any], path: Path,
    flagged: list[dict[str, Any]] | None = None,
) -> None:
    """`flagged`: the flagged conversations (conversations.json order), shown with their
    indicators; message text appears only where it is the indicator's excerpt."""
    env = Environment(
        loader=PackageLoader("fellwatch.reports", "templates"),
        autoescape=select_autoescape(default=True),
        keep_trailing_newline=True,
    )
    html = env.get_template("report.html").render(
        findings=outputs.head,
        run=run,
        matched=outputs.matched,
        errors=outputs.errors,
        leads=[(i, exif_lead(i)) for i in outputs.leads],
        flagged=flagged or [],
        review=outputs.summary["review"],
        matched_by=matched_by,
    )
    write_private_text(path, html)
