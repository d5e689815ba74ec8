"""What the chat tests read back from a whole scan: findings.json, messages.csv and
conversations.json (one place, so every test reads the outputs the same way)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings


def scan_findings(evidence: Path, out: Path) -> dict[str, Any]:
    """`fellwatch scan EVIDENCE --out OUT` with one worker, as findings.json says it."""
    return scan([str(evidence)], out, ScanSettings(workers=1), progress=False).findings


def messages_csv(out: Path) -> list[dict[str, str]]:
    with (out / "messages.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def conversations_json(out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out / "conversations.json").read_text(encoding="utf-8"))
    return loaded
