"""The evidence files' own integrity: their SHA-256, hashed once and remembered, an E01's
acquisition hash checked against its content, and its chunks verified once and remembered.

Hashing a 1 TB image twice per scan (before and after) costs more than the scan itself. The
SHA-256 of an evidence file is computed once and remembered in the data directory against the
files' identity (device, inode, size, mtime and ctime of every segment): any write through the
file system changes mtime and ctime, and ctime cannot be set back from user space, so an
unchanged identity means unchanged content. After a scan the identity is checked again; where
it changed, the files are hashed again and the difference is recorded. `fellwatch evidence
verify EVIDENCE` rehashes in full on demand. An E01's chunk check (every chunk's Adler-32 or
inflation, one more read of the image) is remembered the same way, in the same row.

Split evidence is all of its segment files (E01, E02, … or .000, .001, …), in order.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fellwatch.errors import reason
from fellwatch.evidence.ewf_check import ChunkCheck

CHUNK = 1 << 20

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


def identity(path: Path) -> list[list[Any]]:
    """[name, device, inode, size, mtime_ns, ctime_ns] of every segment file, in order."""
    rows = []
    for segment in segment_files(path):
        st = segment.stat()
        rows.append([segment.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                     st.st_ctime_ns])  # fmt: skip
    return rows


def evidence_sha256(path: Path, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """`{"sha256": combined, "files": [{"name", "size", "sha256"}]}` of the evidence files.

    The combined digest is of all segments' bytes in order, so a split image and its joined
    form have the same value.
    """
    segments = segment_files(path)
    # One file: its digest is the combined one (hashing it twice cost a first scan 0.7 s a GB).
    combined = hashlib.sha256() if len(segments) > 1 else None
    files = []
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    for segment in segments:
        one = hashlib.sha256()
        with segment.open("rb", buffering=0) as fh:
            while n := fh.readinto(buffer):
                one.update(view[:n])
                if combined is not None:
                    combined.update(view[:n])
                if progress is not None:
                    progress(n)
        files.append(
            {"name": segment.name, "size": segment.stat().st_size, "sha256": one.hexdigest()}
        )
    if not files:
        return {"sha256": None, "files": []}
    return {"sha256": (combined.hexdigest() if combined is not None else files[0]["sha256"]),
            "files": files}


def acquisition_check(path: Path, evidence_format: str) -> dict[str, Any] | None:
    """For an E01: the MD5/SHA-1 the acquisition tool stored, checked against the media.

    `verdict` is `matches`, `differs` (the media read now is not what was acquired: corrupt
    chunks, a damaged copy), `absent` (the image stores no hash) or `unreadable: …`. None
    for evidence that has no acquisition hash of its own (raw, VHD, a folder).
    """
    if evidence_format != "ewf":
        return None
    import pyewf

    handle = pyewf.handle()
    try:
        handle.open([str(p) for p in segment_files(path)])
    except Exception as exc:  # the scan opened it through dfVFS; say why this did not
        return {"stored": {}, "computed": {}, "verdict": f"unreadable: {reason(exc)}"}
    try:
        stored = {
            kind.lower(): value.lower()
            for kind in ("MD5", "SHA1")
            if (value := handle.get_hash_value(kind))
        }
        if not stored:
            return {"stored": {}, "computed": {}, "verdict": "absent"}
        digests = {kind: hashlib.new(kind) for kind in stored}
        remaining = handle.get_media_size()
        try:
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    raise OSError(f"media ends {remaining} bytes early")
                remaining -= len(chunk)
                for digest in digests.values():
                    digest.update(chunk)
        except Exception as exc:
            return {"stored": stored, "computed": {}, "verdict": f"unreadable: {reason(exc)}"}
        computed = {kind: d.hexdigest() for kind, d in digests.items()}
        verdict = "matches" if computed == stored else "differs"
        return {"stored": stored, "computed": computed, "verdict": verdict}
    finally:
        handle.close()


@dataclass
class EvidenceHashes:
    """The integrity facts of one evidence, and whether they were computed in this run."""

    sha256: str | None
    files: list[dict[str, Any]]
    acquisition: dict[str, Any] | None
    identity: list[list[Any]]
    computed_at: str
    computed_now: bool

    def to_findings(self) -> dict[str, Any]:
        """What findings.json records (the same whether computed now or remembered)."""
        data: dict[str, Any] = {"sha256": self.sha256, "files": self.files}
        if self.acquisition is not None:
            data["acquisition_hash"] = self.acquisition
        return data


class EvidenceHashCache:
    """`DATA_DIR/evidence-hashes.sqlite`: evidence hashes keyed by the files' identity."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        path.chmod(0o600)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS hashes (identity TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> EvidenceHashCache:
        from fellwatch.settings import data_dir

        return cls(data_dir() / "evidence-hashes.sqlite")

    def get(self, ident: list[list[Any]]) -> dict[str, Any] | None:
        key = json.dumps(ident)
        with self._lock:
            row = self._db.execute("SELECT value FROM hashes WHERE identity=?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, ident: list[list[Any]], value: dict[str, Any]) -> None:
        """Remember `value`'s facts about these files, beside what is already remembered of
        them (the SHA-256 and the E01 chunk check are found at different times, by different
        threads, into the same row)."""
        key = json.dumps(ident)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # another scan may write the same row
            try:
                row = self._db.execute("SELECT value FROM hashes WHERE identity=?",
                                       (key,)).fetchone()
                merged = {**(json.loads(row[0]) if row is not None else {}), **value}
                self._db.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?)",
                                 (key, json.dumps(merged, sort_keys=True)))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def hash_evidence(
    path: Path,
    evidence_format: str,
    cache: EvidenceHashCache | None,
    *,
    rehash: bool = False,
    progress: Callable[[int], None] | None = None,
) -> EvidenceHashes:
    """The evidence's hashes: remembered when its identity is known, else computed (and
    remembered). `rehash` computes them whatever the cache holds."""
    ident = identity(path)
    if (cache is not None and not rehash and ident and (known := cache.get(ident)) is not None
            and "sha256" in known):
        return EvidenceHashes(
            sha256=known["sha256"],
            files=known["files"],
            acquisition=known.get("acquisition"),
            identity=ident,
            computed_at=known["computed_at"],
            computed_now=False,
        )
    digests = evidence_sha256(path, progress)
    acquisition = acquisition_check(path, evidence_format)
    result = EvidenceHashes(
        sha256=digests["sha256"],
        files=digests["files"],
        acquisition=acquisition,
        identity=ident,
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        computed_now=True,
    )
    # Remember it only if nothing changed while it was read (a file still being written).
    if cache is not None and ident and identity(path) == ident:
        remembered = {"sha256": result.sha256, "files": result.files,
                      "acquisition": acquisition, "computed_at": result.computed_at}  # fmt: skip
        cache.put(ident, remembered)
    return result


@dataclass
class ChunkVerification:
    """An E01's chunks verified (evidence/ewf_check.py), and whether in this run."""

    check: ChunkCheck | None  # None: the chunk tables cannot be followed
    computed_at: str
    computed_now: bool

    def to_findings(self) -> dict[str, Any]:
        """What findings.json records (the same whether verified now or remembered)."""
        return {"chunk_check": self.check.to_json() if self.check is not None else None}

    def described(self) -> str:
        return ("computed in this run" if self.computed_now
                else f"remembered from {self.computed_at} (identity unchanged)")


def verify_chunks(
    path: Path,
    compute: Callable[[], ChunkCheck | None],
    cache: EvidenceHashCache | None,
    *,
    recheck: bool = False,
) -> ChunkVerification:
    """The E01's chunk check: remembered when the files' identity is known, else `compute`d
    (one read of the whole image) and remembered beside its SHA-256. `recheck` verifies
    whatever the cache holds."""
    ident = identity(path)
    if (cache is not None and not recheck and ident and (known := cache.get(ident)) is not None
            and "chunk_check" in known):
        stored = known["chunk_check"]
        return ChunkVerification(ChunkCheck.from_json(stored) if stored is not None else None,
                                 known["chunk_check_at"], False)
    check = compute()
    result = ChunkVerification(check, datetime.now(UTC).isoformat(timespec="seconds"), True)
    if cache is not None and ident and identity(path) == ident:
        cache.put(ident, {**result.to_findings(), "chunk_check_at": result.computed_at})
    return result


def supply_chunk_check(ev: Any, cache: EvidenceHashCache | None) -> ChunkVerification | None:
    """An opened E01's chunk check, remembered or done now, handed to the evidence for its
    walk (which traces bad chunks to the files they hold); None for other evidence."""
    if getattr(ev, "format", None) != "ewf":
        return None
    from fellwatch.evidence.image import ImageEvidence  # only E01s pay for its imports

    if not isinstance(ev, ImageEvidence):
        return None
    done = verify_chunks(Path(ev.path), ev.chunk_check, cache)
    ev.use_chunk_check(done.check)
    return done


@dataclass
class BackgroundHashes:
    """The evidence hashed in a thread while the item pass runs (hashlib and libewf release
    the GIL while they work, so the main process's matching and commits carry on)."""

    jobs: list[tuple[Path, str]]
    cache: EvidenceHashCache | None
    results: list[EvidenceHashes | None] = field(default_factory=list)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.results = [None] * len(self.jobs)
        self._thread = threading.Thread(target=self._run, name="evidence-sha256", daemon=True)

    def start(self) -> BackgroundHashes:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for i, (path, fmt) in enumerate(self.jobs):
                self.results[i] = hash_evidence(path, fmt, self.cache)
        except BaseException as exc:  # re-raised in the main thread by wait()
            self.error = exc

    def wait(self) -> list[EvidenceHashes]:
        self._thread.join()
        if self.error is not None:
            raise self.error
        return [r for r in self.results if r is not None]
