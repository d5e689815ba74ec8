"""The scan: evidence → items → (workers: digests, signals) → (here: matching) → the store.

The main process walks the evidence and hands items to an executor in bounded batches as the
walk finds them (nothing is listed up front, so memory does not grow with the file count),
matches what comes back against the hash sets (held once, here) and commits each batch with
its checkpoint. Reports are written from the store at the end, so a resumed scan writes the
same findings as one that was never interrupted.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fellwatch import TOOL_NAME, __version__
from fellwatch.chats.stage import run_chat_stage
from fellwatch.chats.wanted import wanted as chat_wanted
from fellwatch.evidence import ByteRange, Evidence, Item, open_evidence
from fellwatch.evidence.base import refuse_output_inside_evidence
from fellwatch.matching.base import Matcher
from fellwatch.record import Candidate, ItemRecord, Match
from fellwatch.scan import forkserver
from fellwatch.scan.batch import Batch, range_key
from fellwatch.scan.dispatch import Dispatcher
from fellwatch.scan.executors import make_executor, uses_local_pool
from fellwatch.scan.progress import Progress
from fellwatch.scan.verify import (
    BackgroundHashes,
    EvidenceHashCache,
    EvidenceHashes,
    evidence_sha256,
    identity,
    supply_chunk_check,
)
from fellwatch.settings import ScanSettings
from fellwatch.signals.filetype import is_picture, is_video
from fellwatch.store.private import private_dir, sqlite_temp_files_in
from fellwatch.store.scanstore import ScanStore


@dataclass
class ScanRequest:
    evidence: Sequence[str]
    out_dir: Path
    settings: ScanSettings
    hashsets: list[dict[str, Any]] = field(default_factory=list)  # findings.json "hashsets"
    matchers: list[Matcher] = field(default_factory=list)
    cluster: str | None = None
    restart: bool = False
    progress: bool = True
    hash_cache: EvidenceHashCache | None = None  # where evidence hashes are remembered


@dataclass
class ScanOutcome:
    out_dir: Path
    resumed: bool
    evidence: list[dict[str, Any]]
    seconds: float
    failed_batches: list[str]  # why each batch that is not in the store failed
    scan_seconds: float  # the item pass: reading, digests, signals, matching
    verify_seconds: float  # waiting for the evidence hashes after the item pass, and checks
    # per evidence: SHA-256 (and an E01's chunk check) computed now or remembered (run.json)
    evidence_hashes: list[dict[str, str]]
    items: int
    bytes: int
    chat_seconds: float = 0.0  # the chat stage: reading app databases, ranking conversations


def run_scan(request: ScanRequest) -> ScanOutcome:
    """Run (or resume) a scan and leave its records in `out_dir/scan.sqlite`.

    Raises EvidenceError before any work when an evidence cannot be opened at all.
    """
    started = time.monotonic()
    refuse_output_inside_evidence(request.evidence, request.out_dir)  # before anything is made
    if uses_local_pool(request.cluster, request.settings.worker_count()):
        forkserver.start()  # its imports overlap the opening of the evidence below
    opened = [open_evidence(path) for path in request.evidence]
    private_dir(request.out_dir)  # owner-only: it will hold thumbnails of seized pictures
    with sqlite_temp_files_in(request.out_dir):
        return _scan_opened(request, opened, started)


def _scan_opened(request: ScanRequest, opened: list[Evidence], started: float) -> ScanOutcome:
    described = [ev.describe() for ev in opened]
    store = ScanStore(request.out_dir / "scan.sqlite")
    if request.restart:
        store.reset()
    resumed = store.begin(
        {
            "tool": {"name": TOOL_NAME, "version": __version__},
            # The files' names, sizes and mtimes bind the store to this evidence before its
            # SHA-256 is known (it is hashed while the items are read).
            "evidence": [
                {"path": e["path"], "files": [r[0:1] + r[3:5] for r in identity(Path(e["path"]))]}
                for e in described
            ],
            "hashsets": request.hashsets,
            "settings": request.settings.affecting_results(),
        }
    )
    store.set_meta("hashsets", request.hashsets)
    store.set_meta("settings", request.settings.affecting_results())
    jobs = [(Path(e["path"]), str(e.get("format") or "")) for e in described]
    hashing = BackgroundHashes(jobs, request.hash_cache).start()
    # Before the walk, which traces bad chunks to the files they hold; a second scan of the
    # same unchanged E01 takes the remembered outcome instead of reading the image again.
    chunk_checks = [supply_chunk_check(ev, request.hash_cache) for ev in opened]
    scan_started = time.monotonic()
    # The totals grow as the walk finds work: nothing is listed before the first batch runs.
    progress = Progress(total_items=0, total_bytes=0, enabled=request.progress)
    workers = request.settings.worker_count()
    dispatcher = Dispatcher(
        lambda: make_executor(request.cluster, workers),
        store,
        request.matchers,
        progress,
        classify,
        # The chat stage's databases are kept with their locators as batches commit, so it
        # reopens them without a second walk of the evidence.
        keep=chat_wanted,
    )
    # A fresh store has nothing to skip: the per-batch resume query is not even asked.
    check_done = store.has_units()
    try:
        for index, ev in enumerate(opened):
            pending = _pending(index, ev, store, request.settings, check_done)
            for items, ranges in _batches(pending, tail_parts=2 * dispatcher.slots):
                progress.found(
                    len(items) + len(ranges),
                    sum(i.size for i in items) + sum(r.length for r in ranges),
                )
                dispatcher.submit(Batch(index, ev.path, items, request.settings, ranges))
        dispatcher.finish()
        # Decided here, once, so every output counts a carved copy of a named file the same.
        store.mark_carved_duplicates()
        scanned_items, scanned_bytes = progress.items, progress.bytes
        # Chats after the item pass: the store knows every item and its read errors by then.
        chat_started = time.monotonic()
        from fellwatch.evidence.archives import ArchiveLimits  # the workers' module: late

        run_chat_stage(opened, request.out_dir / "scan.sqlite", request.settings.chat_rules,
                       restart=request.restart, limits=ArchiveLimits(
                           max_depth=request.settings.archive_max_depth,
                           max_total_bytes=request.settings.archive_max_bytes,
                           max_ratio=request.settings.archive_max_ratio))
        chat_seconds = time.monotonic() - chat_started
    finally:
        progress.close()
        dispatcher.close()
        for ev in opened:
            ev.close()

    scan_seconds = time.monotonic() - scan_started - chat_seconds
    verify_started = time.monotonic()
    hashes = hashing.wait()
    for entry, known, chunks in zip(described, hashes, chunk_checks, strict=True):
        entry.update(known.to_findings())
        if chunks is not None:
            entry.update(chunks.to_findings())
        entry.update(_after_scan(Path(entry["path"]), known))
    store.set_meta("evidence", described)
    store.close()
    verify_seconds = time.monotonic() - verify_started
    return ScanOutcome(
        out_dir=request.out_dir,
        resumed=resumed,
        evidence=described,
        seconds=time.monotonic() - started,
        failed_batches=progress.failed,
        evidence_hashes=[
            {"path": e["path"], "sha256": "computed in this run" if h.computed_now
             else f"remembered from {h.computed_at} (identity unchanged)",
             **({"chunk_check": c.described()} if c is not None else {})}
            for e, h, c in zip(described, hashes, chunk_checks, strict=True)
        ],
        scan_seconds=scan_seconds,
        verify_seconds=verify_seconds,
        items=scanned_items,
        bytes=scanned_bytes,
        chat_seconds=chat_seconds,
    )


def _after_scan(path: Path, known: EvidenceHashes) -> dict[str, Any]:
    """Evidence is never written; prove it. An unchanged identity (any write changes mtime and
    ctime) means unchanged content; a changed one is hashed again and the difference kept."""
    if not known.identity:  # a folder: its inventory is the record
        return {"sha256_after": None, "after_check": "folder: no single hash"}
    if identity(path) == known.identity:
        return {"sha256_after": known.sha256, "after_check": "identity unchanged"}
    after = evidence_sha256(path)["sha256"]
    return {"sha256_after": after, "after_check": "identity changed: hashed again"}


# Batches grow from FIRST_BATCH_ITEMS (work starts at once, a short scan still has several
# batches to resume between) to MAX_BATCH_ITEMS: tiny files pay the per-batch costs (a task
# round trip, a transaction) once per thousands. BATCH_BYTES bounds a batch of large files.
FIRST_BATCH_ITEMS = 64
MAX_BATCH_ITEMS = 2048
BATCH_BYTES = 64 << 20
# How many keys one resume query checks against the store.
DONE_QUERY_KEYS = 1024

Unit = Item | ByteRange


def _pending(
    index: int, ev: Evidence, store: ScanStore, settings: ScanSettings, check_done: bool
) -> Iterator[Unit]:
    """The units of one evidence still to do, in walk order, streamed: items, then byte ranges
    to carve. On resume, committed units are skipped by asking the store about each chunk of
    keys, so no set of every key is ever held."""
    units: Iterator[Unit] = ev.items()
    if settings.carve:
        units = itertools.chain(units, ev.unallocated())
    if not check_done:
        yield from units
        return
    while chunk := list(itertools.islice(units, DONE_QUERY_KEYS)):
        done = store.done_among(index, [_unit_key(u) for u in chunk])
        yield from (u for u in chunk if _unit_key(u) not in done) if done else chunk


def _unit_key(unit: Unit) -> str:
    return unit.key if isinstance(unit, Item) else range_key(unit)


def _batches(
    units: Iterable[Unit], tail_parts: int = 1
) -> Iterator[tuple[list[Item], list[ByteRange]]]:
    """Items in growing batches; each byte range to carve is a batch of its own.

    One full batch is held back until the next is full, so that when the items end the last
    two batches' worth is cut into `tail_parts` batches of about equal bytes: every worker
    then finishes at about the same time, where otherwise one would still be reading a whole
    large batch while the others wait (measured on a Dask cluster: 0.18 s of one idle worker).
    """
    limit = FIRST_BATCH_ITEMS
    held: list[Item] = []
    batch: list[Item] = []
    size = 0
    for unit in units:
        if isinstance(unit, ByteRange):
            # Carving follows: its ranges keep every worker busy, nothing to even out here.
            for items in (held, batch):
                if items:
                    yield items, []
            held, batch, size = [], [], 0
            yield [], [unit]
            continue
        batch.append(unit)
        size += unit.size
        if len(batch) >= limit or size >= BATCH_BYTES:
            if held:
                yield held, []
            held, batch, size = batch, [], 0
            limit = min(limit * 2, MAX_BATCH_ITEMS)
    # At least two parts when a full batch was held back: no batch outgrows the limits.
    for items in _split(held + batch, max(tail_parts, 2 if held else 1)):
        yield items, []


# What one item costs a worker besides its bytes (opening, sniffing, its record: ~0.1 ms, the
# time to hash ~32 KiB), so that a run of many empty files is not taken for no work.
ITEM_COST_BYTES = 32 << 10


def _split(items: list[Item], parts: int) -> list[list[Item]]:
    """`items` in walk order as at most `parts` runs of about equal work (none empty)."""
    left = sum(item.size for item in items) + ITEM_COST_BYTES * len(items)
    runs: list[list[Item]] = []
    run: list[Item] = []
    work = 0
    for item in items:
        run.append(item)
        work += item.size + ITEM_COST_BYTES
        # A run's share is of what is left, so one large item does not leave slivers behind.
        if len(runs) < parts - 1 and work * (parts - len(runs)) >= left:
            runs.append(run)
            left -= work
            run, work = [], 0
    if run:
        runs.append(run)
    return runs


def classify(records: list[ItemRecord], matchers: Sequence[Matcher]) -> None:
    """Decide, once, what each record of a batch is: its matches and candidates, known-good,
    and whether it needs a person (every output reads these; none derives them again)."""
    readable = [r for r in records if r.readable]
    for matcher in matchers:
        match_many = getattr(matcher, "match_many", None)
        results = match_many(readable) if match_many else [matcher.match(r) for r in readable]
        for record, matches in zip(readable, results, strict=True):
            record.matches.extend(matches)
        candidates_many = getattr(matcher, "candidates_many", None)
        if candidates_many is not None:
            for record, candidates in zip(readable, candidates_many(readable), strict=True):
                record.candidates.extend(candidates)
    for record in records:
        # The order of findings.json: by the fields as written (None-safe, unlike field order).
        record.matches.sort(key=_json_order)
        record.candidates.sort(key=_json_order)
        record.known_good = any(m.set_kind == "known-good" for m in record.matches)
        content_type = record.content_type or ""
        # A candidate is not a match: an item with only candidates still needs a person.
        record.review = (
            (is_picture(content_type) or is_video(content_type))
            and not record.known_bad
            and not record.known_good
            and record.carved_duplicate_of is None
        )


def _json_order(hit: Match | Candidate) -> list[tuple[str, Any]]:
    return sorted(hit.to_json().items())
