"""The SHA-256 of the evidence files themselves, taken before and after a scan.

Split evidence is all of its segment files (E01, E02, … or .000, .001, …), in order.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_SEGMENTED = (
    re.compile(r"^(?P<stem>.+)\.(?P<seg>[EeLs]x?\d{2}|[EeLs][A-Za-z]{2})$"),
    re.compile(r"^(?P<stem>.+)\.(?P<seg>\d{3})$"),
    re.compile(r"^(?P<stem>.+\.split\.?)(?P<seg>[a-z]{2})$"),
)


def segment_files(path: Path) -> list[Path]:
    """The files that make up the evidence at `path` (itself, or all of its segments)."""
    if path.is_dir():
        return []
    name = path.name
    for pattern in _SEGMENTED:
        m = pattern.match(name)
        if not m:
            continue
        stem, seg = m.group("stem"), m.group("seg")
        siblings = [
            p
            for p in path.parent.iterdir()
            if p.is_file()
            and (mm := pattern.match(p.name))
            and mm.group("stem") == stem
            and len(mm.group("seg")) == len(seg)
            and mm.group("seg")[0].lower() == seg[0].lower()
        ]
        return sorted(siblings, key=lambda p: p.name.lower())
    return [path]


def evidence_sha256(path: Path) -> dict[str, object]:
    """`{"sha256": combined, "files": [{"name", "size", "sha256"}]}` of the evidence files.

    The combined digest is of all segments' bytes in order, so a split image and its joined
    form have the same value.
    """
    combined = hashlib.sha256()
    files = []
    for segment in segment_files(path):
        one = hashlib.sha256()
        with segment.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                one.update(chunk)
                combined.update(chunk)
        files.append(
            {"name": segment.name, "size": segment.stat().st_size, "sha256": one.hexdigest()}
        )
    if not files:
        return {"sha256": None, "files": []}
    return {"sha256": combined.hexdigest(), "files": files}
