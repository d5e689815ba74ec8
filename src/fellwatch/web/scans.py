"""Import a scan's output directory (findings.json, schema 1) against a case's exhibit.

This is where the engine's output meets the records; the engine itself never imports Django.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fellwatch.errors import FellwatchError

SUPPORTED_SCHEMA = 1


class ScanImportError(FellwatchError, ValueError):
    """The directory cannot be imported; the message says why in one line."""


def import_scan_dir(
    out_dir: Path, case_ref: str, exhibit_ref: str, user: str | None = None
) -> int:
    """Record `out_dir`'s evidence, scan and findings against exhibit `exhibit_ref` of case
    `case_ref`, with one "examined" custody entry per evidence (SHA-256 before and after).

    Returns the number of findings recorded. Sets Django up (and migrates a new store) when the
    caller has not. All or nothing: on any error nothing is recorded.
    """
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    return _import(Path(out_dir), case_ref, exhibit_ref, user or "system")


def check_exhibit(case_ref: str, exhibit_ref: str) -> None:
    """Raise ScanImportError unless the records hold exhibit `exhibit_ref` of case `case_ref`.

    `fellwatch scan --case --exhibit` calls this before the scan starts, so a typo costs a
    second, not a whole scan.
    """
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.models import Exhibit

    if not Exhibit.objects.filter(case__reference=case_ref, reference=exhibit_ref).exists():
        raise ScanImportError(f"no exhibit {exhibit_ref!r} in case {case_ref!r}")


def _load(out_dir: Path) -> tuple[dict[str, Any], str]:
    path = out_dir / "findings.json"
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ScanImportError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        doc = json.loads(blob)
    except ValueError as exc:
        raise ScanImportError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema") != SUPPORTED_SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else None
        raise ScanImportError(f"{path}: schema {found!r}, this version reads {SUPPORTED_SCHEMA}")
    for key in ("tool", "evidence", "summary", "items"):
        if key not in doc:
            raise ScanImportError(f"{path}: no {key!r}")
    return doc, hashlib.sha256(blob).hexdigest()


def _category(matches: list[dict[str, Any]]) -> str:
    """The category the exhibit page counts an item under: its known-bad match's, if any."""
    bad = [m for m in matches if m.get("set_kind") != "known-good" and m.get("category")]
    return str(bad[0]["category"]) if bad else ""


def _import(out_dir: Path, case_ref: str, exhibit_ref: str, user: str) -> int:
    from django.db import transaction
    from django.utils import timezone

    from fellwatch.web.audit.actor import acting_as
    from fellwatch.web.records.models import (
        CustodyAction,
        CustodyEntry,
        Evidence,
        Exhibit,
        Finding,
        Scan,
    )

    doc, digest = _load(out_dir)
    exhibit = Exhibit.objects.filter(case__reference=case_ref, reference=exhibit_ref).first()
    if exhibit is None:
        raise ScanImportError(f"no exhibit {exhibit_ref!r} in case {case_ref!r}")
    if Scan.objects.filter(findings_sha256=digest).exists():
        raise ScanImportError(f"{out_dir / 'findings.json'} was imported before")
    with acting_as(user), transaction.atomic():
        scan = Scan.objects.create(
            exhibit=exhibit,
            out_dir=str(out_dir.resolve()),
            findings_sha256=digest,
            tool_version=str(doc["tool"].get("version", "")),
            schema=SUPPORTED_SCHEMA,
            settings=doc.get("settings", {}),
            summary=doc["summary"],
            hashsets=doc.get("hashsets", []),
            imported_by=user,
        )
        now = timezone.now()
        for ev in doc["evidence"]:
            sha256 = str(ev.get("sha256") or "")
            evidence, _ = Evidence.objects.get_or_create(
                exhibit=exhibit, path=str(ev["path"]), sha256=sha256,
                defaults={"format": str(ev.get("format") or "")},
            )
            scan.evidence.add(evidence)
            after = str(ev.get("sha256_after") or "")
            CustodyEntry.objects.create(
                exhibit=exhibit,
                at=now,
                by=user,
                action=CustodyAction.EXAMINED,
                reason=f"fellwatch scan {doc['tool'].get('version', '')} of {ev['path']}"
                       + ("" if not after or after == sha256 else " — HASH CHANGED"),
                hash_before=sha256,
                hash_after=after,
            )
        Finding.objects.bulk_create(
            Finding(
                scan=scan,
                evidence_path=str(item.get("evidence", "")),
                key=str(item["key"]),
                path=str(item.get("path", "")),
                size=int(item.get("size") or 0),
                allocated=bool(item.get("allocated", True)),
                origin=str(item.get("origin") or ""),
                sha256=str(item.get("sha256") or ""),
                md5=str(item.get("md5") or ""),
                content_type=str(item.get("content_type") or ""),
                category=_category(item.get("matches") or []),
                matches=item.get("matches") or [],
                known_good=bool(item.get("known_good")),
                review=bool(item.get("review")),
                error=str(item.get("error") or ""),
            )
            for item in doc["items"]
        )
    return len(doc["items"])


def category_counts(scan: Any) -> dict[str, int]:
    """Findings per category for the exhibit page: each hash-set category, then the rest."""
    counts: dict[str, int] = {}
    for f in scan.findings.all().only("category", "known_good", "review", "error"):
        if f.category:
            label = f.category
        elif f.error:
            label = "error"
        elif f.known_good:
            label = "known good"
        elif f.review:
            label = "needs review"
        else:
            label = "other"
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))
