"""One `fellwatch scan`: resolve hash sets, run (or resume) the scan, write the reports."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fellwatch.chats.rules import load_rules
from fellwatch.hashsets.store import HashSetStore
from fellwatch.reports.chats import write_chat_outputs
from fellwatch.reports.findings import write_outputs, write_run_record
from fellwatch.reports.html import write_html
from fellwatch.reports.manifest import load_private_key, write_manifest
from fellwatch.scan.matchers import build_matchers, describe_sets, resolve_sets
from fellwatch.scan.pipeline import ScanRequest, run_scan
from fellwatch.scan.verify import EvidenceHashCache
from fellwatch.settings import ScanSettings
from fellwatch.store.private import sqlite_temp_files_in
from fellwatch.store.scanstore import ScanStore


@dataclass
class ScanReport:
    out_dir: Path
    summary: dict[str, Any]  # findings.json's `summary`: what the CLI prints
    run: dict[str, Any]
    signed: bool = False  # manifest.json signed with the unit's key

    @property
    def findings_path(self) -> Path:
        return self.out_dir / "findings.json"

    @property
    def findings(self) -> dict[str, Any]:
        """findings.json, read back whole (the scan itself never holds every item)."""
        loaded: dict[str, Any] = json.loads(self.findings_path.read_text(encoding="utf-8"))
        return loaded


def scan(
    evidence: list[str],
    out_dir: Path,
    settings: ScanSettings,
    *,
    hashsets: Sequence[str] = (),
    store: HashSetStore | None = None,
    cluster: str | None = None,
    restart: bool = False,
    progress: bool = True,
) -> ScanReport:
    """Scan `evidence` against the hash sets named by `hashsets` (files or stored names).

    Raises EvidenceError, HashSetError, ScanStoreError or RulesError (chat rules) with a
    one-line reason before any item is read.
    """
    started = datetime.now(UTC)
    load_rules(settings.chat_rules)  # a bad rule file is refused before any item is read
    store = store or HashSetStore.default()
    hash_cache = EvidenceHashCache.default()
    infos = resolve_sets(hashsets, store)
    matchers = build_matchers(infos, store, settings)
    try:
        outcome = run_scan(
            ScanRequest(
                evidence=evidence,
                out_dir=out_dir,
                settings=settings,
                hashsets=describe_sets(infos),
                matchers=matchers,
                cluster=cluster,
                restart=restart,
                progress=progress,
                hash_cache=hash_cache,
            )
        )
    finally:
        for matcher in matchers:
            matcher.close()
        hash_cache.close()
    records = ScanStore(out_dir / "scan.sqlite")
    try:
        with sqlite_temp_files_in(out_dir):  # the chat outputs sort every message by time
            outputs = write_outputs(records, out_dir)
            flagged = write_chat_outputs(records.path, out_dir, outputs.head["evidence"])
    finally:
        records.close()
    run = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(outcome.seconds, 3),
        "resumed": outcome.resumed,
        "incomplete_batches": len(outcome.failed_batches),
        "incomplete_reasons": sorted(set(outcome.failed_batches)),
        "items_this_run": outcome.items,
        "bytes_this_run": outcome.bytes,
        "scan_seconds": round(outcome.scan_seconds, 3),
        "verify_seconds": round(outcome.verify_seconds, 3),
        "chat_seconds": round(outcome.chat_seconds, 3),
        "evidence_hashes": outcome.evidence_hashes,
        "mb_per_s": (
            round(outcome.bytes / 1e6 / outcome.scan_seconds, 1) if outcome.scan_seconds else None
        ),
        "workers": cluster or settings.worker_count(),
        "host": platform.node(),
        "python": platform.python_version(),
        "argv": sys.argv,
        "hashsets_imported": {i.name: i.imported for i in infos},
        "clock": time.tzname[0],
    }
    write_run_record(out_dir / "run.json", run)
    write_html(outputs, run, out_dir / "report.html", flagged)
    # Last: the manifest lists every output above, signed with the unit's key where it has one.
    signed = write_manifest(out_dir, outputs.head["evidence"], load_private_key())
    return ScanReport(out_dir=out_dir, summary=outputs.summary, run=run, signed=signed)
