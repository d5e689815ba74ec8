"""Merging one Messenger mailbox held twice: what the offline threading ids cost.

Stores two msys copies of one account's mailbox straight into a chat store (no evidence, no
SQLite file of the app's): copy A holds messages 0 to N, copy B N/2 to 3N/2, so N/2 are in
both; in copy A one message in `--unsent-every` has no server id yet (its `message_id` its
offline id). Then times `ChatStore.merge_copies` (CPU) with the offline ids stored and without
(the server ids alone), and prints the copies found and the process's peak RSS. Synthetic,
benign text only.

    python -m bench.chats_merge [--messages 100000] [--unsent-every 100]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fellwatch.chats.base import Message
from fellwatch.chats.registry import SOURCES
from fellwatch.chats.store import ChatStore, SourceOutcome


def _messages(low: int, high: int, unsent_every: int) -> Iterator[tuple[Message, list[Any]]]:
    for i in range(low, high):
        offline = str(6_900_000_000_000_000_000 + i)
        unsent = bool(unsent_every) and i % unsent_every == 0
        yield Message(app="Messenger", account="1", conversation=str(200 + i % 500),
                      message_id=offline if unsent else f"mid.${i:08d}",
                      time=f"2023-03-14T10:{i % 60:02d}:00.000Z", direction="received",
                      sender="200", recipients=("(device owner)",), text=f"text {i}",
                      table="messages", rowid=i + 1, offline_id=offline), []


def run(path: Path, messages: int, unsent_every: int, offline: bool) -> tuple[float, int]:
    """(merge CPU seconds, copies found)."""
    source = SOURCES.get("messenger-msys")
    store = ChatStore(path)
    try:
        for key, db_path, low, every in (("a", "/a/msys_database_1", 0, unsent_every),
                                         ("b", "/b/msys_database_1", messages // 2, 0)):
            store.commit_source(0, key, SourceOutcome(db_path, True, source.name, "msys"),
                                _messages(low, low + messages, every), source.copy_key,
                                source.offline_key if offline else None)
        started = time.process_time()
        store.merge_copies()
        seconds = time.process_time() - started
        shown = sum(1 for _ in store.messages_by_time())
        return seconds, 2 * messages - shown
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--unsent-every", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for offline in (False, True, False, True):
            path = Path(work) / f"store-{offline}.sqlite"
            path.unlink(missing_ok=True)
            seconds, copies = run(path, args.messages, args.unsent_every, offline)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"offline ids {'stored' if offline else 'not stored'}: merge {seconds:.2f} s "
                  f"CPU, {copies} copies, peak RSS so far {peak:.0f} MiB")


if __name__ == "__main__":
    main()
