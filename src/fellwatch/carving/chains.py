"""Box and chunk chains walked once per range, not once per candidate.

An MP4 file is a chain of boxes (size, type), a RIFF file a chain of chunks (id, size): from
any position the next one is fixed by the bytes alone. Free space full of signatures ("ftyp",
"RIFF") over a long run of small boxes makes every candidate walk the rest of the run, so the
work grows with the square of the run (the pattern the GIF carver had with sub-blocks). Here a
walk remembers, every few elements (and wherever it jumped), how far the chain
from that position is known to be made of accepted elements (`reach`) and what those elements
said (an aggregate: the first moov, the largest chunk offset, the LIST kinds). A later walk
that lands on a remembered position jumps to its reach, so each run of elements is walked
about once per range.

The jump gives the same outcome as walking: every element before `reach` was accepted by a
walk whose limit was at most `reach`'s, and an element accepted under one limit is accepted
under any limit that reaches its end. Where a remembered reach lies beyond this walk's limit
(candidates claiming ends that shrink as they go: crafted), the walk goes on element by
element; those steps over known ground are counted against REWALK_STEPS per range, past which
the candidate is a fragment that says so. The total work of a range is thus about one walk of
its chains plus a constant, whatever its bytes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any

from fellwatch.carving.base import CarvedFragmentError, Source

CHECKPOINT_EVERY = 16
# One walk's checkpoints grow sparser (twice as far apart every CHECKPOINT_DOUBLING of them),
# so a single walk over a chain of millions of tiny boxes holds a bounded number.
CHECKPOINT_DOUBLING = 1 << 16
MEMO_MAX = 1 << 18  # remembered positions per range before starting afresh (memory bound)
REWALK_STEPS = 1 << 22  # steps over known ground one range may take (crafted input only)

# One element's step: None (not an element: the chain ends here, normally) or (the position
# of the next element, what this element adds to the aggregate or None). It raises
# CarvedFragmentError where the element is broken.
Step = Callable[[int, int], tuple[int, Any] | None]
Combine = Callable[[Any, Any], Any]  # (aggregate of earlier elements, of later ones)


class RangeWork:
    """One carver's memory of the chains of the range it is carving, and its step counts."""

    def __init__(self) -> None:
        self._source: weakref.ref[Source] | None = None
        self._memo: dict[tuple[Hashable, int], tuple[int, Any]] = {}
        self.steps = 0  # elements stepped over in this range (what a test counts)
        self.rewalked = 0

    def bind(self, source: Source) -> RangeWork:
        current = self._source() if self._source is not None else None
        if current is not source or len(self._memo) > MEMO_MAX:
            if current is not source:
                self.steps = self.rewalked = 0
            self._memo = {}
            try:
                self._source = weakref.ref(source)
            except TypeError:  # a source that takes no weak reference: nothing is reused
                self._source = None
        return self

    def walk(self, key: Hashable, start: int, pos: int, limit: int, step: Step,
             combine: Combine) -> tuple[int, Any]:
        """Walk the chain from `pos` while `pos < limit`; the position where it ended and the
        aggregate of its elements. `key` names the kind of chain (the same bytes may be read
        as top-level boxes and as a container's children)."""
        memo = self._memo if self._source is not None else {}
        checkpoints: list[int] = []
        segments: list[Any] = []  # the aggregate of the elements from each checkpoint on
        acc: Any = None
        since = CHECKPOINT_EVERY
        use_memo = True

        def cut(at: int) -> None:
            nonlocal acc, since
            if checkpoints:
                segments.append(acc)
            checkpoints.append(at)
            acc, since = None, 0

        try:
            while pos < limit:
                known = memo.get((key, pos)) if use_memo else None
                if known is not None:
                    reach, agg = known
                    if pos < reach <= limit:
                        cut(pos)
                        acc = agg
                        pos = reach
                        cut(pos)
                        continue
                    use_memo = False  # beyond this walk's limit: step it out, as without memo
                if not use_memo:
                    self.rewalked += 1
                    if self.rewalked > REWALK_STEPS:
                        raise CarvedFragmentError(
                            f"not walked again: this range's {REWALK_STEPS} steps over "
                            "structure already walked are spent (crafted overlapping "
                            "candidates)", pos - start)
                if since >= CHECKPOINT_EVERY << (len(checkpoints) // CHECKPOINT_DOUBLING):
                    cut(pos)
                since += 1
                self.steps += 1
                got = step(pos, limit)
                if got is None:
                    break
                pos, event = got
                if event is not None:
                    acc = combine(acc, event)
        finally:
            if checkpoints:
                segments.append(acc)
            total: Any = None
            for at, segment in zip(reversed(checkpoints), reversed(segments), strict=True):
                total = combine(segment, total)
                if at < pos:
                    memo[(key, at)] = (pos, total)
        return pos, total


def keep_first(earlier: dict[Any, Any] | None, later: dict[Any, Any] | None
               ) -> dict[Any, Any] | None:
    """Per key, the earliest value (the first moov box of a chain)."""
    if earlier is None or later is None:
        return earlier if later is None else later
    return {**later, **earlier}


def keep_max(earlier: int | None, later: int | None) -> int | None:
    if earlier is None or later is None:
        return earlier if later is None else later
    return max(earlier, later)


def keep_all(earlier: frozenset[bytes] | None, later: frozenset[bytes] | None
             ) -> frozenset[bytes] | None:
    if earlier is None or later is None:
        return earlier if later is None else later
    return earlier | later
