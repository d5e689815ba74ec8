"""vPDQ hash lists: Meta's vPDQ text format, one video per file or a folder of such files.

Each line is `frame_number,quality,pdq_hex,timestamp` (timestamp in seconds). A video becomes
one `HashEntry` per frame, `kind="vpdq"`, `digest` the frame's PDQ hex, `quality` its PDQ
quality and `media_id` the video's name (the file name without its extension, or the file's
path inside the folder without extension). Frame numbers and timestamps are not kept:
matching is by bag of frames (vPDQ's own method), which ignores frame order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from fellwatch.hashsets.base import HashEntry, HashSetError, SetKind

_LINE = re.compile(r"^\s*(\d+),(\d{1,3}),([0-9a-fA-F]{64}),(\d+(?:\.\d*)?)\s*$")


def parse_line(line: str) -> tuple[int, int, str, float] | None:
    """(frame_number, quality, pdq_hex, timestamp) of one line; None for a blank line."""
    if not line.strip():
        return None
    m = _LINE.match(line)
    if m is None:
        raise HashSetError(f"not a vPDQ line: {line.strip()[:80]!r}")
    quality = int(m[2])
    if quality > 100:
        raise HashSetError(f"vPDQ quality out of range: {quality}")
    return int(m[1]), quality, m[3].lower(), float(m[4])


class VpdqFormat:
    name: ClassVar[str] = "vpdq"
    default_kind: ClassVar[SetKind] = "known-bad"

    def files(self, folder: Path) -> list[Path]:
        """Every file under `folder`, sorted, except hidden ones and those under a hidden
        folder (.DS_Store, .git/): they are not videos, and must not change the set's version."""
        return sorted(
            p
            for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )

    def sniff(self, head: bytes, path: Path) -> bool:
        if path.is_dir():
            files = self.files(path)
            if not files:
                return False
            with files[0].open("rb") as f:
                head = f.read(512)
        first = head.decode("ascii", "replace").splitlines()[:1]
        return bool(first) and _LINE.match(first[0]) is not None

    def read(self, path: Path, notes: Any = None) -> Iterator[HashEntry]:
        # `notes` (read warnings) is accepted for the registry's interface; vPDQ lines are
        # either valid or the whole file is refused.
        root, files = (path, self.files(path)) if path.is_dir() else (path.parent, [path])
        seen: dict[str, Path] = {}
        for file in files:
            where = file.relative_to(root)
            media_id = where.with_suffix("").as_posix()
            # `a.txt` and `a.vpdq` would both be video "a": their frames would be merged into
            # one bag and matched as one video. Refuse rather than guess which is which.
            if media_id in seen:
                raise HashSetError(f"{seen[media_id].as_posix()} and {where.as_posix()} are both "
                                   f"video {media_id!r}: rename one")
            seen[media_id] = where
            with file.open(encoding="ascii", errors="replace") as lines:
                for number, line in enumerate(lines, 1):
                    try:
                        parsed = parse_line(line)
                    except HashSetError as exc:
                        raise HashSetError(f"{where.as_posix()}:{number}: {exc}") from exc
                    if parsed is not None:
                        _, quality, digest, _ = parsed
                        yield HashEntry(kind="vpdq", digest=digest, quality=quality,
                                        media_id=media_id)


def format_frames(frames: list[list[object]]) -> str:
    """The vPDQ text of a `signals["vpdq"]["frames"]` list (to export a video's hashes)."""
    return "".join(f"{n},{q},{h},{float(t):.3f}\n" for n, q, h, t in frames)  # type: ignore[arg-type]


VPDQ = VpdqFormat()
