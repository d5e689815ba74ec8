"""Exact matching: an item's MD5, SHA-1 and SHA-256 looked up in stored hash sets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fellwatch.hashsets import categories
from fellwatch.hashsets.base import HashKind, HashSetError, HashSetInfo
from fellwatch.hashsets.store import HashSetStore
from fellwatch.matching.base import Match
from fellwatch.record import ItemRecord

DIGEST_KINDS: tuple[HashKind, ...] = ("md5", "sha1", "sha256")


def _order(match: Match) -> tuple[str, str, str, str, str]:
    return (match.hashset, match.kind, match.set_kind, match.category or "", match.media_id or "")


class ExactMatcher:
    """Matches item records against the given set versions.

    The versions are pinned: if a set was replaced in the store after `infos` were taken, the
    matcher refuses to start rather than report matches against a version the scan does not
    name. Pickles as (store path, infos), so it can be sent to worker processes.
    """

    def __init__(self, store: HashSetStore, infos: Sequence[HashSetInfo]) -> None:
        self.store = store
        self.infos = list(infos)
        for info in self.infos:
            stored = store.get(info.name)
            if stored.source_sha256 != info.source_sha256:
                raise HashSetError(
                    f"hash set {info.name!r} changed in the store ({stored.version}) since this "
                    f"scan chose {info.version}"
                )
        # Which sets hold each digest kind: no query for a kind a set does not have.
        self._sets_by_kind = {
            kind: [info.name for info in self.infos if info.counts.get(kind)]
            for kind in DIGEST_KINDS
        }
        self._info = {info.name: info for info in self.infos}

    def __getstate__(self) -> dict[str, Any]:
        return {"store": self.store, "infos": self.infos}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["store"], state["infos"])  # type: ignore[misc]

    def match(self, record: ItemRecord) -> list[Match]:
        return self.match_many([record])[0]

    def match_many(self, records: Sequence[ItemRecord]) -> list[list[Match]]:
        """`match` for many records with one batched lookup per digest kind."""
        results: list[list[Match]] = [[] for _ in records]
        for kind in DIGEST_KINDS:
            names = self._sets_by_kind[kind]
            if not names:
                continue
            digests = {
                digest.lower(): None
                for record in records
                if isinstance(digest := getattr(record, kind), str) and digest
            }
            if not digests:
                continue
            found = self.store.lookup(kind, list(digests), names)
            if not found:
                continue
            for index, record in enumerate(records):
                digest = getattr(record, kind)
                if not isinstance(digest, str):
                    continue
                for set_name, entry in found.get(digest.lower(), ()):
                    info = self._info[set_name]
                    results[index].append(
                        Match(
                            hashset=set_name,
                            set_kind=info.kind,
                            kind=kind,
                            category=categories.label(info.kind, info.category_map, entry.category),
                            distance=0,
                            media_id=entry.media_id,
                        )
                    )
        for matches in results:
            matches.sort(key=_order)
        return results

    def close(self) -> None:
        self.store.close()
