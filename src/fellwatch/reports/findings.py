"""findings.json, inventory.csv and run.json, written from the scan store only.

findings.json is deterministic: keys sorted, items in (evidence, key) order, no wall-clock time.
Everything that varies from run to run (times, durations, host) goes to run.json.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fellwatch import TOOL_NAME, __version__
from fellwatch.chats.store import chat_counts
from fellwatch.store.scanstore import ScanStore

SCHEMA_VERSION = 1

INVENTORY_COLUMNS = (
    "evidence", "path", "size", "allocated", "origin", "partition", "inode", "offset",
    "md5", "sha1", "sha256", "content_type", "extension_mismatch", "categories", "known_good",
    "review", "error", "mtime", "camera", "camera_serial", "taken", "gps", "path_spec",
)  # fmt: skip


def exif_lead(record: dict[str, Any]) -> dict[str, str]:
    """Camera, serial, date taken and GPS of a picture, as text (empty when absent)."""
    exif = record.get("signals", {}).get("exif") or {}
    gps = exif.get("gps") or {}
    camera = " ".join(str(exif[k]) for k in ("make", "model") if exif.get(k))
    serial = exif.get("serial") or ""
    return {
        "camera": camera,
        "camera_serial": str(serial),
        "taken": str(exif.get("datetime_original") or ""),
        "gps": f"{gps['lat']:.6f},{gps['lon']:.6f}" if "lat" in gps and "lon" in gps else "",
    }


def is_lead(record: dict[str, Any]) -> bool:
    """A picture whose EXIF can tie it to a place or a device: victim-identification lead."""
    lead = exif_lead(record)
    return bool(lead["gps"] or lead["camera_serial"])


def is_listed(record: dict[str, Any]) -> bool:
    """findings.json lists what matched, is known-good, failed or needs review."""
    return bool(record["matches"] or record["known_good"] or record["error"] or record["review"])


def categories(record: dict[str, Any]) -> list[str]:
    return sorted(
        {
            m.get("category") or "uncategorised"
            for m in record["matches"]
            if m["set_kind"] == "known-bad"
        }
    )


def mark_carved_duplicates(records: list[dict[str, Any]]) -> None:
    """A carved object identical to a file the file system still names is the same picture
    found twice: it is kept (its offset is evidence too) but marked and not counted again."""
    named: dict[tuple[str, str], str] = {}
    for r in records:
        if r["origin"] != "carved" and r["sha256"]:
            named.setdefault((r["evidence"], r["sha256"]), r["path"])
    for r in records:
        if r["origin"] == "carved" and r["sha256"]:
            original = named.get((r["evidence"], r["sha256"]))
            if original is not None:
                r["carved_duplicate_of"] = original
                r["review"] = False


def summarise(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    items = nbytes = matched = known_good = errors = review = duplicates = 0
    by_category: Counter[str] = Counter()
    for r in records:
        items += 1
        nbytes += r["size"] if r["md5"] else 0
        if r.get("carved_duplicate_of"):
            duplicates += 1
            continue
        cats = categories(r)
        if cats:
            matched += 1
            by_category.update(cats)
        known_good += bool(r["known_good"])
        errors += r["error"] is not None
        review += bool(r["review"])
    return {
        "items": items,
        "bytes": nbytes,
        "matched": matched,
        "known_good": known_good,
        "errors": errors,
        "review": review,
        "carved_duplicates": duplicates,
        "by_category": dict(sorted(by_category.items())),
    }


def build_findings(store: ScanStore) -> dict[str, Any]:
    records = list(store.records())
    mark_carved_duplicates(records)
    return {
        "schema": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "settings": store.get_meta("settings"),
        "evidence": store.get_meta("evidence"),
        "hashsets": store.get_meta("hashsets"),
        "summary": {**summarise(records), **chat_counts(store.path)},
        "items": [r for r in records if is_listed(r)],
    }


def write_findings(findings: dict[str, Any], path: Path) -> None:
    text = json.dumps(findings, sort_keys=True, indent=1, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _cell(value: object) -> object:
    # A name that starts like a formula must not run as one when the CSV is opened in a
    # spreadsheet; the leading apostrophe is the spreadsheet convention for "text".
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def write_inventory(store: ScanStore, path: Path) -> None:
    """Every item scanned, one row each (the hashdeep-style full listing)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(INVENTORY_COLUMNS)
        for r in store.records():
            lead = exif_lead(r)
            writer.writerow(
                _cell(v)
                for v in [
                    r["evidence"],
                    r["path"],
                    r["size"],
                    r["allocated"],
                    r["origin"],
                    r["partition"] or "",
                    "" if r["inode"] is None else r["inode"],
                    "" if r["offset"] is None else r["offset"],
                    r["md5"] or "",
                    r["sha1"] or "",
                    r["sha256"] or "",
                    r["content_type"] or "",
                    r.get("extension_mismatch", False),
                    ";".join(categories(r)),
                    r["known_good"],
                    r["review"],
                    r["error"] or "",
                    r.get("times", {}).get("mtime", ""),
                    lead["camera"],
                    lead["camera_serial"],
                    lead["taken"],
                    lead["gps"],
                    r["path_spec"] or "",
                ]
            )


def write_run_record(path: Path, run: dict[str, Any]) -> None:
    path.write_text(json.dumps(run, sort_keys=True, indent=1) + "\n", encoding="utf-8")
