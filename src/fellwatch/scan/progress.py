"""Progress on long work: items, MB/s and ETA on stderr (tqdm), quiet when asked.

The scan does not list its work before starting it, so the totals are what the walk has found
so far: they grow until the walk ends, then stay (the bar then shows a true ETA).
"""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total_items: int, total_bytes: int, enabled: bool = True) -> None:
        self.items = 0
        self.batches = 0
        self.failed: list[str] = []
        self.bytes = 0
        self.total_items = total_items
        self._bar = tqdm(
            total=total_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="scan",
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
        )

    def found(self, items: int, nbytes: int) -> None:
        """The walk found more work (a batch handed to the workers)."""
        self.total_items += items
        self._bar.total = (self._bar.total or 0) + nbytes

    def advance(self, items: int, nbytes: int) -> None:
        self.items += items
        self.bytes += nbytes
        # A unit is a file (with what is inside it) or a byte range to carve.
        self._bar.set_postfix_str(f"{self.items}/{self.total_items} units", refresh=False)
        self._bar.update(nbytes)

    def close(self) -> None:
        self._bar.close()
