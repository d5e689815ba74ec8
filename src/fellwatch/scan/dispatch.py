"""Handing batches to an executor, committing what comes back, surviving worker crashes.

A native reader (The Sleuth Kit, libyal, a picture decoder) can crash its process on hostile
data. A crash breaks the whole local pool: every batch in flight fails with it. Those batches
are run again on a fresh pool; a batch that breaks a pool a second time is split and its
units run one at a time on a one-worker pool, so the unit that crashes is known. That unit is
recorded with the crash as its error and the scan goes on; nothing else is lost.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait

from fellwatch.errors import reason as error_reason
from fellwatch.faults import KILL_AFTER_BATCHES, fault_value
from fellwatch.matching.base import Matcher
from fellwatch.record import ItemRecord
from fellwatch.scan.batch import (
    Batch,
    BatchResult,
    base_record,
    range_error_record,
)
from fellwatch.scan.executors import Executor, LocalExecutor
from fellwatch.scan.progress import Progress
from fellwatch.store.located import located_rows
from fellwatch.store.scanstore import ScanStore

Classify = Callable[[list[ItemRecord], Sequence[Matcher]], None]

FIRST_TRY, SECOND_TRY, ALONE = 0, 1, 2


class Dispatcher:
    def __init__(
        self,
        make_executor: Callable[[], Executor],
        store: ScanStore,
        matchers: list[Matcher],
        progress: Progress,
        classify: Classify,
        keep: Callable[[str], bool] | None = None,
    ) -> None:
        self._make = make_executor
        # Which items' locators a later stage wants kept (chats: app databases by path).
        self._keep = keep
        self.executor = make_executor()
        self._quarantine: Executor | None = None
        self._store = store
        self._matchers = matchers
        self._progress = progress
        self._classify = classify
        self._in_flight: dict[Future[BatchResult], tuple[Batch, int]] = {}
        self._again: deque[tuple[Batch, int]] = deque()

    @property
    def slots(self) -> int:
        """How many batches the executor keeps in flight (every worker busy, one queued)."""
        return self.executor.slots

    def submit(self, batch: Batch) -> None:
        while len(self._in_flight) >= self.executor.slots:
            self._drain()
        self._submit(batch, FIRST_TRY)

    def finish(self) -> None:
        while self._in_flight or self._again:
            while self._again and len(self._in_flight) < self.executor.slots:
                batch, attempt = self._again[0]
                if attempt == ALONE and self._alone_in_flight():
                    # One at a time: a crash must be attributable to exactly one unit.
                    break
                self._again.popleft()
                self._submit(batch, attempt)
            if self._in_flight:
                self._drain()

    def _alone_in_flight(self) -> bool:
        return any(attempt == ALONE for _, attempt in self._in_flight.values())

    def close(self) -> None:
        self.executor.close()
        if self._quarantine is not None:
            self._quarantine.close()

    def _submit(self, batch: Batch, attempt: int) -> None:
        executor = self.executor
        if attempt == ALONE:
            if self._quarantine is None:
                self._quarantine = LocalExecutor(1)
            executor = self._quarantine
        try:
            future = executor.submit(batch)
        except Exception as exc:  # a broken pool refuses work: handled like a failed batch
            future = Future()
            future.set_exception(exc)
        self._in_flight[future] = (batch, attempt)

    def _drain(self) -> None:
        done, _ = wait(self._in_flight, return_when=FIRST_COMPLETED)
        broken: set[str] = set()
        for future in done:
            batch, attempt = self._in_flight.pop(future)
            try:
                result = future.result()
            except BrokenExecutor as exc:
                broken.add("quarantine" if attempt == ALONE else "pool")
                self._crashed(batch, attempt, exc)
                continue
            except Exception as exc:
                # Not a crash (a Dask worker lost, memory): the batch is not committed, the
                # scan says so and the next run of the same command retries it.
                self._progress.failed.append(error_reason(exc))
                continue
            self._commit(result, batch)
        if broken:
            self._rebuild(broken)

    def _crashed(self, batch: Batch, attempt: int, exc: BaseException) -> None:
        if attempt == FIRST_TRY:
            self._again.append((batch, SECOND_TRY))
        elif attempt == SECOND_TRY:
            for one in _single_units(batch):
                self._again.append((one, ALONE))
        else:
            self._commit(_crash_result(batch, exc), batch)

    def _rebuild(self, broken: set[str]) -> None:
        # Every other batch in the broken pool fails too; collect them before replacing it.
        if "pool" in broken:
            for future, (batch, attempt) in list(self._in_flight.items()):
                if attempt != ALONE:
                    wait([future])
                    del self._in_flight[future]
                    try:
                        result = future.result()
                    except BrokenExecutor as exc:
                        self._crashed(batch, attempt, exc)
                    except Exception as exc:
                        self._progress.failed.append(error_reason(exc))
                    else:
                        self._commit(result, batch)
            self.executor.close()
            self.executor = self._make()
        if "quarantine" in broken and self._quarantine is not None:
            self._quarantine.close()
            self._quarantine = None

    def _commit(self, result: BatchResult, batch: Batch) -> None:
        self._classify(result.records, self._matchers)
        # The worker's encoding holds for every record matching left as the worker made it
        # (most of them); only the others are encoded again here, in the one main process.
        encoded = (
            [
                forms if _as_made(record) else None
                for record, forms in zip(result.records, result.encoded, strict=True)
            ]
            if result.encoded
            else []
        )
        self._store.commit_batch(
            result.evidence_index,
            result.unit_keys,
            result.records,
            thumbnails=result.thumbnails,
            encoded=encoded,
            located=located_rows(batch.items, result.records, self._keep) if self._keep else (),
        )
        self._progress.advance(len(result.unit_keys), result.bytes_read)
        self._progress.batches += 1
        if self._progress.batches == _fault_after():
            os.kill(os.getpid(), signal.SIGKILL)


def _as_made(record: ItemRecord) -> bool:
    """Whether the scan's decisions left the record as a worker makes it (its defaults)."""
    return not (
        record.matches
        or record.candidates
        or record.known_good
        or record.review
        or record.carved_duplicate_of is not None
    )


def _single_units(batch: Batch) -> list[Batch]:
    items = [
        Batch(batch.evidence_index, batch.evidence_path, [item], batch.settings)
        for item in batch.items
    ]
    ranges = [
        Batch(batch.evidence_index, batch.evidence_path, [], batch.settings, [byte_range])
        for byte_range in batch.ranges
    ]
    return items + ranges


def _crash_result(batch: Batch, exc: BaseException) -> BatchResult:
    """The recorded outcome of a unit that crashed the process reading it, twice."""
    why = f"the worker process crashed on this item ({type(exc).__name__})"
    result = BatchResult(batch.evidence_index, batch.unit_keys())
    for item in batch.items:
        record = base_record(item)
        record.error = why
        result.records.append(record)
    for byte_range in batch.ranges:
        result.records.append(range_error_record(batch.evidence_path, byte_range, exc))
    return result


def _fault_after() -> int | None:
    # Fault injection for the resume tests: SIGKILL this process after N committed batches.
    value = fault_value(KILL_AFTER_BATCHES)
    return int(value) if value else None
