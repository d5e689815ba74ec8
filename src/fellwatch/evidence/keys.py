"""Unique item keys over a streamed walk, in memory that does not grow with the file count.

A directory can list the same name twice (deleted entries), and two directories of the same
name can both hold it, so two items can share a key; the later ones get `#1`, `#2`, … in walk
order. Remembering every key to find repeats would cost ~100 bytes per file (100 MB at a
million files), so a fixed-size Bloom filter remembers them instead: it never misses a repeat;
a false "seen before" (about 1 in 10^7 keys at a million files) only adds a `#n` to a key that
did not need it, the same `#n` on every walk of the same evidence, and the key stays unique.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from fellwatch.evidence.item import Item

_BITS = 1 << 27  # 16 MiB; k = 5: ~1e-7 false repeats at 1 M keys, ~3e-3 at 10 M
_PROBES = 5
_MASK = _BITS - 1


class UniqueKeys:
    def __init__(self) -> None:
        self._bits = bytearray(_BITS >> 3)

    def __call__(self, item: Item) -> Item:
        if not self._add(item.key):
            return item
        count = 1
        while self._add(f"{item.key}#{count}"):
            count += 1
        return replace(item, key=f"{item.key}#{count}")

    def _add(self, key: str) -> bool:
        """Remember `key`; True when it was (probably) seen before."""
        # A keyed hash of its own, not hash(): str hashes change per process, and the same
        # evidence must give the same keys on every run.
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=17).digest(), "little")
        bits = self._bits
        seen = True
        for shift in range(0, 27 * _PROBES, 27):
            index = (digest >> shift) & _MASK
            byte, mask = index >> 3, 1 << (index & 7)
            if not bits[byte] & mask:
                seen = False
                bits[byte] |= mask
        return seen
