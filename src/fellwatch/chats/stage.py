"""The chat stage of a scan: after the item pass, read every app database on the evidence.

Candidates are items whose path fits a source's pattern; each is read from the evidence with its
`-wal` and `-journal` siblings, in memory (`sqlite_image`), and checked against the source's
schema. Files a source reads beside its database (`ChatSource.companions`: WhatsApp's wa.db
names, Messenger's threads_db2-uid) are read from the database's folder on the same evidence.
Its messages go to the scan store (`chats.store`) in one transaction per database, so a resumed
scan picks up where it stopped. At the end the conversations are rebuilt and ranked from
the stored messages with the rule file's indicators.

The evidence is not walked again: the item pass kept the items the stage may need with their
locators (`store.located`, chosen by `chats.wanted`), and attachments are tied to items by a
file-name index built in the store from the item pass's records. Databases inside archives in
the evidence (a tar inside an extraction zip) are read by expanding their walked archive again
with the item pass's reader and limits, in memory. A phone extraction given as a zip or tar is
evidence of its own (`evidence.extraction`) whose members are read like files.
"""

from __future__ import annotations

import json
import posixpath
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from fellwatch.chats import carve, cells
from fellwatch.chats.base import OWNER, ChatSource, ChatSourceError, Companions, Message, named
from fellwatch.chats.registry import SOURCES, for_path
from fellwatch.chats.rules import Rules, load_rules
from fellwatch.chats.scoring import Indicator, Tally, score
from fellwatch.chats.sqlite_image import DatabaseError, Recovered, open_in_memory, recover
from fellwatch.chats.store import ChatStore, SourceOutcome
from fellwatch.chats.wanted import wanted
from fellwatch.evidence import Evidence, Item
from fellwatch.store.located import decode_item

if TYPE_CHECKING:
    from fellwatch.evidence.archives import ArchiveLimits

# A database, its WAL and journal are held in memory together (a phone's msgstore.db is
# rarely above a few hundred MB); a larger one is an item error, not a memory exhaustion.
MAX_DATABASE_BYTES = 2 << 30
_CHUNK = 1 << 20
# A carved deleted record is taken only with a time in these years (ISO prefixes, end excluded).
PLAUSIBLE_YEARS = ("1990", "2100")
# Databases inside one archive are read in passes over it, each holding the members it reads
# up to about this many bytes together (one larger database is a pass of its own).
PASS_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class StageOutcome:
    databases: int
    messages: int
    errors: int


def _read_all(ev: Evidence, item: Item) -> bytes:
    with ev.open_item(item) as stream:
        return _read_capped(stream)


def _read_capped(stream: BinaryIO) -> bytes:
    parts = []
    got = 0
    while chunk := stream.read(_CHUNK):
        parts.append(chunk)
        got += len(chunk)
        if got > MAX_DATABASE_BYTES:
            raise DatabaseError(f"larger than {MAX_DATABASE_BYTES >> 20} MiB: not read")
    return b"".join(parts)


class _Names:
    """Items by file name, for tying an attachment's stored path to an item of the evidence.

    The index is a table of the scan store (`ChatStore.build_names`), made from the item
    pass's records on the first attachment to resolve: nothing held here grows with the
    evidence's file count, and evidence whose messages have no attachments costs nothing.
    """

    def __init__(self, store: ChatStore, evidence: int, walk: Evidence | None = None) -> None:
        self._store = store
        self._evidence = evidence
        self._built = False
        self._walk = walk

    def resolve(self, stored: str) -> dict[str, Any]:
        parts = [p for p in stored.replace("\\", "/").lower().split("/") if p and p != "~"]
        found: dict[str, Any] = {"name": stored, "item": None, "path": None}
        if not parts:
            return found
        if not self._built:
            walked = None if self._walk is None else (
                (item.path, item.key) for item in self._walk.items())
            self._store.build_names(self._evidence, walked)
            self._built = True
        best: tuple[int, str, str] | None = None
        for path, key in self._store.named(self._evidence, parts[-1]):
            have = path.lower().split("/")
            common = 0
            while common < min(len(have), len(parts)) and \
                    have[-1 - common] == parts[-1 - common]:
                common += 1
            # The longest shared tail of folders wins; ties go to the first key (stable).
            candidate = (-common, key, path)
            if best is None or candidate < best:
                best = candidate
        if best is not None:
            found["item"], found["path"] = best[1], best[2]
        return found


def _companion_names() -> frozenset[str]:
    return frozenset(name.lower() for source in SOURCES for name in source.companions)


def _is_reopenable(item: Item) -> bool:
    return not (item.locator and item.locator[0] == "archive-member") and item.origin != "carved"


# What one place holds: the bytes of a file at a path beside the database (its -wal, -journal,
# companions), or None when it has none or it cannot be read.
Sibling = Callable[[str], bytes | None]


@dataclass(slots=True)
class _Found:
    """The chat items of one evidence: databases to read, and the files beside them."""

    candidates: list[tuple[Item, list[ChatSource]]] = field(default_factory=list)
    siblings: dict[tuple[str | None, str], Item] = field(default_factory=dict)
    # Databases inside archives: by the walked item they come out of, (key, path, size).
    members: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    containers: dict[str, Item] = field(default_factory=dict)

    def add(self, item: Item, companions: frozenset[str]) -> None:
        lower = item.path.lower()
        if lower.endswith(("-wal", "-journal")):
            self.siblings[(item.partition, item.path)] = item
            return
        if posixpath.basename(lower) in companions and _is_reopenable(item):
            # Read beside the database in its folder (wa.db's names), never on its own;
            # a live file wins over a deleted one of the same path.
            where = (item.partition, item.path)
            if where not in self.siblings or item.allocated:
                self.siblings[where] = item
        sources = for_path(item.path, deleted=not item.allocated)
        if sources and _is_reopenable(item):
            self.candidates.append((item, sources))


def _found(store: ChatStore, index: int, ev: Evidence, companions: frozenset[str]) -> _Found:
    """The chat items of evidence `index`, from the item pass's `located` rows; by a walk
    of the evidence only where the store has no item pass (the stage run on its own) or one
    from before those rows were kept."""
    found = _Found()
    rows = store.located(index)
    if rows is None:
        for item in ev.items():
            if wanted(item.path):
                found.add(item, companions)
        return found
    for key, path, size, container, text in rows:
        if text is not None:
            item = decode_item(text)
            found.containers[key] = item
            found.add(item, companions)
        elif container is not None:
            found.members.setdefault(container, []).append((key, path, size))
    return found


def run_chat_stage(
    opened: Sequence[Evidence], store_path: Path, rules_path: str = "", restart: bool = False,
    limits: ArchiveLimits | None = None,
) -> StageOutcome:
    """Read the chat databases of every evidence into the store, then rank conversations.

    `limits`: the archive limits of the item pass, for databases inside archives (the same
    limits give the same member keys)."""
    from fellwatch.evidence.archives import DEFAULT_LIMITS

    limits = limits or DEFAULT_LIMITS
    rules = load_rules(rules_path)
    store = ChatStore(store_path)
    databases = messages = errors = 0
    companions = _companion_names()
    try:
        if restart:
            store.reset()
        for index, ev in enumerate(opened):
            done = store.done(index)
            found = _found(store, index, ev, companions)
            # Without an item pass (the stage run on its own) the names come from a walk.
            names = _Names(store, index, None if store.has_records() else ev)
            for item, sources in found.candidates:
                if item.key in done:
                    continue
                outcome, stream = _read_walked(ev, item, sources, found.siblings, names,
                                               store.item_error(index, item.key))
                stored, error = store.commit_source(index, item.key, outcome, stream,
                                                    *_copy_keys(outcome))
                databases += 1
                messages += stored
                errors += error is not None
            for container, members in sorted(found.members.items()):
                holder = found.containers.get(container)
                if holder is None:  # kept in the same batch as its members; never absent
                    continue
                for key, outcome, stream in _archived(
                        ev, holder, members, done, limits, names, store, index):
                    stored, error = store.commit_source(index, key, outcome, stream,
                                                        *_copy_keys(outcome))
                    databases += 1
                    messages += stored
                    errors += error is not None
        store.drop_names()
        rank_conversations(store, rules, [ev.path for ev in opened])
    finally:
        store.close()
    return StageOutcome(databases, messages, errors)


def _copy_keys(outcome: SourceOutcome) -> tuple[
        Callable[[Message], tuple[str, str] | None] | None,
        Callable[[Message], tuple[str, str, str] | None] | None]:
    """The copy key and offline key of the source that read the database (None where none
    did)."""
    if not outcome.source:
        return None, None
    source = SOURCES.get(outcome.source)
    return source.copy_key, source.offline_key


def _read_walked(
    ev: Evidence, item: Item, sources: list[ChatSource],
    siblings: dict[tuple[str | None, str], Item], names: _Names, item_error: str | None,
) -> tuple[SourceOutcome, Iterator[tuple[Message, list[dict[str, Any]]]]]:
    """A database the evidence itself holds, reopened by its locator; the files beside it are
    the items of the same folder of the same partition."""

    def sibling(path: str) -> bytes | None:
        return _sibling(ev, siblings, (item.partition, path))

    return _read_database(item, sources, lambda: _read_all(ev, item), sibling, names,
                          item_error)


def _read_database(
    item: Item, sources: list[ChatSource], read_main: Callable[[], bytes], sibling: Sibling,
    names: _Names, item_error: str | None,
) -> tuple[SourceOutcome, Iterator[tuple[Message, list[dict[str, Any]]]]]:
    empty: Iterator[tuple[Message, list[dict[str, Any]]]] = iter(())
    base = SourceOutcome(path=item.path, allocated=item.allocated)
    if item.error is not None or item_error is not None:
        # The item pass could not read it; that error is already on its record.
        return SourceOutcome(item.path, item.allocated,
                             error=f"not read: {item.error or item_error}"), empty
    try:
        main = read_main()
        wal = sibling(item.path + "-wal")
        journal = sibling(item.path + "-journal")
        recovered = recover(main, wal, journal)
        del main, wal, journal  # the page image (and the WAL frames) is what is read from here
        db = open_in_memory(recovered)
        # The image is kept beside SQLite's own copy while the database is read: deleted
        # records are carved from its pages in use as well as its freed ones (chats.carve).
    except Exception as exc:  # a truncated, encrypted or unreadable file is this item's outcome
        return SourceOutcome(item.path, item.allocated, error=f"chats: {_line(exc)}"), empty
    failures = []
    for source in sources:
        try:
            variant = source.variant(db)
        except ChatSourceError as exc:
            failures.append(str(exc))
            continue
        except Exception as exc:
            failures.append(f"{source.name}: {_line(exc)}")
            continue
        outcome = SourceOutcome(item.path, item.allocated, source.name, variant,
                                recovered.wal_frames, recovered.journal_pages)
        found = _companions(sibling, item, source)
        messages: Iterator[Message] = with_deleted(
            source, db, variant, item.path, recovered,
            live=source.read_with(db, variant, item.path, found), companions=found)
        try:
            contacts = source.contact_names(found) if found else {}
        except Exception:  # a damaged contacts file costs the names, never the messages
            contacts = {}
        if contacts:
            messages = (named(m, contacts) for m in messages)
        return outcome, _with_attachments(messages, names, db)
    db.close()
    return SourceOutcome(base.path, base.allocated, error="chats: " + "; ".join(failures)), empty


_Candidate = tuple[str, str, int, list[ChatSource]]  # member key, path, size, sources


def _archived(
    ev: Evidence, container: Item, members: list[tuple[str, str, int]], done: set[str],
    limits: ArchiveLimits, names: _Names, store: ChatStore, index: int,
) -> Iterator[tuple[str, SourceOutcome, Iterator[tuple[Message, list[dict[str, Any]]]]]]:
    """The databases inside the archive `container` (a walked item; nested archives too),
    read in memory by expanding it again with the item pass's archive reader and limits; the
    files beside each are the members of the same archive folder."""
    by_path = {path: (key, size) for key, path, size in members}
    todo: list[_Candidate] = []
    for key, path, size in members:
        if key in done or path.lower().endswith(("-wal", "-journal")):
            continue
        sources = for_path(path, deleted=not container.allocated)
        if sources:
            todo.append((key, path, size, sources))
    group: list[tuple[_Candidate, set[str]]] = []
    total = 0
    for candidate in todo:
        needed = _beside(candidate, by_path)
        size = sum(by_path[p][1] for p in needed)
        if group and total + size > PASS_BYTES:
            yield from _read_group(ev, container, group, by_path, limits, names, store, index)
            group, total = [], 0
        group.append((candidate, {by_path[p][0] for p in needed}))
        total += size
    if group:
        yield from _read_group(ev, container, group, by_path, limits, names, store, index)


def _beside(candidate: _Candidate, by_path: dict[str, tuple[str, int]]) -> list[str]:
    """The paths a member database reads in its archive: itself, -wal, -journal, companions."""
    _, path, _, sources = candidate
    folder = posixpath.dirname(path)
    wanted_paths = [path, path + "-wal", path + "-journal"] + [
        posixpath.join(folder, name + suffix) for source in sources for name in source.companions
        for suffix in ("", "-wal", "-journal")]
    return [p for p in dict.fromkeys(wanted_paths) if p in by_path]


def _read_group(
    ev: Evidence, container: Item, group: list[tuple[_Candidate, set[str]]],
    by_path: dict[str, tuple[str, int]], limits: ArchiveLimits, names: _Names,
    store: ChatStore, index: int,
) -> Iterator[tuple[str, SourceOutcome, Iterator[tuple[Message, list[dict[str, Any]]]]]]:
    needed = set().union(*(keys for _, keys in group))
    data, failed, items = _expand_for(ev, container, needed, limits)

    def sibling(path: str) -> bytes | None:
        found = by_path.get(path)
        return None if found is None else data.get(found[0])

    for (key, path, size, sources), _ in group:
        item = items.get(key) or Item(
            evidence=container.evidence, path=path, key=key, size=size, origin="archive",
            allocated=container.allocated, partition=container.partition,
            error=failed.get(key, "not found in its archive when read again"))

        def read_main(key: str = key) -> bytes:
            if key not in data:
                raise DatabaseError(failed.get(key, "member not read"))
            return data.pop(key)  # held once: the page image is made from it

        yield key, *_read_database(item, sources, read_main, sibling, names,
                                   store.item_error(index, key))


def _expand_for(
    ev: Evidence, container: Item, needed: set[str], limits: ArchiveLimits,
) -> tuple[dict[str, bytes], dict[str, str], dict[str, Item]]:
    """The bytes of the members `needed` (by key) of the walked archive `container`, their
    errors, and their items; the expansion stops once all were found."""
    from fellwatch.evidence.archives import iter_archive
    from fellwatch.signals import filetype

    data: dict[str, bytes] = {}
    failed: dict[str, str] = {}
    items: dict[str, Item] = {}
    try:
        with ev.open_item(container) as stream:
            content_type = filetype.sniff(stream.read(4096))
        if not filetype.is_archive(content_type):
            content_type = "application/zip"  # a zip behind a prefix (the item pass's rule)
        with ev.open_item(container) as stream:
            for member in iter_archive(stream, container, content_type, limits):
                key = member.item.key
                if key not in needed:
                    continue
                items[key] = member.item
                if member.stream is None:
                    failed[key] = member.item.error or "member cannot be read"
                else:
                    try:
                        data[key] = _read_capped(member.stream)
                    except Exception as exc:  # a corrupt or bombed member: its own outcome
                        failed[key] = _line(exc)
                if len(items) == len(needed):
                    break
    except Exception as exc:  # the archive as a whole: what was read is kept
        for key in needed - items.keys():
            failed[key] = f"archive: {_line(exc)}"
    return data, failed, items


def carved_messages(source: ChatSource, db: sqlite3.Connection, variant: str, path: str,
                    recovered: Recovered, companions: Companions | None = None) -> list[Message]:
    """The source's deleted messages carved from the database (`carve`: freelist pages, the
    table's freeblocks and unallocated gaps, every WAL frame, the rollback journal's pages),
    marked deleted, each once. A
    record whose rowid is still in the table is a stale copy of a live row and is left out; one
    whose rowid was overwritten gets -(page x 65536 + offset) as its rowid."""
    table = source.deleted_tables.get(variant)
    if table is None:
        return []
    quoted = table.replace('"', '""')
    info = list(db.execute(f'PRAGMA table_info("{quoted}")'))
    names = [str(r[1]).lower() for r in info]
    # An INTEGER PRIMARY KEY is the rowid: the record stores NULL in its place.
    alias = next((i for i, r in enumerate(info) if r[5] == 1 and
                  str(r[2]).upper() == "INTEGER"), None)
    if sum(1 for r in info if r[5]) > 1:
        alias = None  # a composite primary key: no column is the rowid
    found_root = db.execute("SELECT rootpage FROM sqlite_master WHERE type='table' AND "
                            "lower(name)=?", (table.lower(),)).fetchone()
    root = int(found_root[0]) if found_root and isinstance(found_root[0], int) else None
    reserved = recovered.image[20]
    pages = cells.Pages(recovered.image, recovered.page_size, recovered.page_size - reserved)

    live = f'SELECT 1 FROM "{quoted}" WHERE rowid=?'
    rowids: set[int] = set()

    def accept(found: carve.Found) -> Message | None:
        if len(found.values) > len(names):
            return None
        if found.rowid is not None and (found.rowid in rowids or
                                        db.execute(live, (found.rowid,)).fetchone()):
            return None  # found already, or a stale copy of a live row
        rowid = found.rowid if found.rowid is not None else -(found.page * 65536 + found.offset)
        # Records written before an ALTER TABLE ADD COLUMN have fewer values: the rest NULL.
        row: dict[str, object] = dict(zip(names, found.values, strict=False))
        if alias is not None:
            row[names[alias]] = found.rowid
        message = source.from_deleted_with(db, variant, path, row, rowid, companions or {})
        # A time that does not convert, or falls outside the years of phone messaging, is not
        # a message's: a record pieced together from bytes that only looked like one.
        if message is None or not PLAUSIBLE_YEARS[0] <= (message.time or "")[:4] \
                < PLAUSIBLE_YEARS[1]:
            return None
        return message

    kept: list[Message] = []
    keys: set[tuple[object, ...]] = set()
    shape = cells.Shape(len(names), alias,
                        tuple(_kind(str(r[2] or ""), bool(r[3])) for r in info))
    for found, message in carve.records(pages, shape, root, recovered.wal, accept,
                                        recovered.journal):
        mine = _keys(message)
        if keys.intersection(mine):
            continue  # the same record found twice (a freed page and an old WAL frame)
        if found.rowid is not None:
            rowids.add(found.rowid)
        keys.update(mine)
        kept.append(message)
    return kept


def _kind(declared: str, not_null: bool) -> str:
    kind = cells.affinity_kind(declared)
    return kind.upper() if not_null else kind


def _keys(message: Message) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """What makes two messages the same one: the app's id in its conversation, or the same
    conversation, time, text and direction (a record whose rowid was lost)."""
    return (("id", message.conversation, message.message_id),
            ("at", message.conversation, message.time, message.text, message.direction))


def with_deleted(source: ChatSource, db: sqlite3.Connection, variant: str, path: str,
                 recovered: Recovered, live: Iterable[Message] | None = None,
                 companions: Companions | None = None) -> Iterator[Message]:
    """The source's live messages (`live`, or `source.read`), then its carved deleted ones
    that are not a live message (a stale copy of a row since updated, whose rowid was
    overwritten, is one): the carved records are held (few) and checked as the live messages
    stream past, never the reverse. `companions`: the files beside the database, for the
    sources that read them (`ChatSource.from_deleted_with`)."""
    failed: Exception | None = None
    try:
        carved = carved_messages(source, db, variant, path, recovered, companions)
    except Exception as exc:  # the live messages are still read; the failure is recorded
        carved, failed = [], exc
    wanted: dict[tuple[object, ...], list[int]] = {}
    for i, message in enumerate(carved):
        for key in _keys(message):
            wanted.setdefault(key, []).append(i)
    stale: set[int] = set()
    for message in live if live is not None else source.read(db, variant, path):
        yield message
        if wanted:
            for key in _keys(message):
                stale.update(wanted.get(key, ()))
    for i, message in enumerate(carved):
        if i not in stale:
            yield message
    if failed is not None:
        raise ChatSourceError(f"deleted-record recovery failed: {_line(failed)}")


def deleted_messages(source: ChatSource, db: sqlite3.Connection, variant: str, path: str,
                     recovered: Recovered) -> Iterator[Message]:
    """Only the deleted messages of `with_deleted`."""
    return (m for m in with_deleted(source, db, variant, path, recovered) if m.deleted)


def _with_attachments(
    messages: Iterator[Message], names: _Names, db: Any,
) -> Iterator[tuple[Message, list[dict[str, Any]]]]:
    try:
        for message in messages:
            yield message, [names.resolve(a) for a in message.attachments]
    finally:
        db.close()


def _sibling(ev: Evidence, siblings: dict[tuple[str | None, str], Item],
             where: tuple[str | None, str]) -> bytes | None:
    item = siblings.get(where)
    if item is None or item.error is not None:
        return None
    try:
        return _read_all(ev, item)
    except Exception:  # an unreadable WAL leaves the database as its main file has it
        return None


def _companions(sibling: Sibling, item: Item, source: ChatSource) -> dict[str, bytes]:
    """The bytes of the source's companion files in the database's folder (and of their
    -wal and -journal), by file name; what the evidence lacks or cannot read is left out."""
    folder = posixpath.dirname(item.path)
    found: dict[str, bytes] = {}
    for name in source.companions:
        for suffix in ("", "-wal", "-journal"):
            data = sibling(posixpath.join(folder, name + suffix))
            if data is not None:
                found[name + suffix] = data
    return found


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, DatabaseError | ChatSourceError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def rank_conversations(store: ChatStore, rules: Rules, evidence_paths: Sequence[str]) -> None:
    """Rebuild every conversation from the stored messages: indicators, score, rank. Copies
    of one mailbox in two databases are merged first (`ChatStore.merge_copies`): a message
    both hold counts once, and a thread is one conversation."""
    store.index()
    store.merge_copies()
    with store.ranking() as keep_hits:
        _rank(store, rules, evidence_paths, keep_hits)


def _rank(store: ChatStore, rules: Rules, evidence_paths: Sequence[str],
          keep_hits: Callable[[list[tuple[int, str, int, str]]], None]) -> None:
    tallies: list[Tally] = []  # one per conversation; a message adds to its counts only
    hits: list[tuple[int, str, int, str]] = []  # stored in chunks as they are found
    minors: dict[int, set[str]] = {}
    current: Tally | None = None
    recipients: dict[str, list[str]] = {}  # the same recipients' JSON repeats row after row
    # The other databases whose copies of a mailbox hold a conversation's messages, by its
    # place in `tallies` (only conversations of a mailbox held twice have any).
    also_in: dict[int, set[str]] = {}
    for row in store.messages_by_conversation():
        ident = (row["evidence"], row["group_key"], row["app"], row["conversation"])
        if current is None or (current.evidence, current.source_key, current.app,
                               current.conversation) != ident:
            current = Tally(*ident)
            tallies.append(current)
            recipients.clear()
        copies = row["copies"]
        if copies is not None or row["source_key"] != current.source_key:  # rare: no JSON
            held = {row["source_key"]} | {c["item"] for c in json.loads(copies or "[]")}
            held.discard(current.source_key)
            also_in.setdefault(len(tallies) - 1, set()).update(held)
        text = row["recipients"]
        if text not in recipients:
            recipients[text] = json.loads(text)
        current.add(row["time"], row["sender"], recipients[text], row["account"])
        found = rules.match(row["text"])
        if not found:
            continue
        hits.append((row["evidence"], row["source_key"], row["seq"],
                     ";".join(h.rule for h in found)))
        if len(hits) >= 5000:
            keep_hits(hits)
            hits.clear()
        for hit in found:
            current.indicators.append(Indicator(hit, row["message_id"], row["time"],
                                                row["sender"]))
            if hit.minor:
                minors.setdefault(row["evidence"], set()).add(row["sender"])
    sources = {(s["evidence"], s["key"]): s for s in store.sources()}
    docs: list[dict[str, Any]] = []
    for place, tally in enumerate(tallies):
        value, indicators = score(tally, minors.get(tally.evidence, set()), rules)
        source = sources.get((tally.evidence, tally.source_key), {})
        others = [sources.get((tally.evidence, key), {"key": key})
                  for key in sorted(also_in.get(place, ()))]
        docs.append({
            "evidence": evidence_paths[tally.evidence] if tally.evidence < len(evidence_paths)
            else str(tally.evidence),
            "evidence_index": tally.evidence,
            "source": {"item": tally.source_key, "path": source.get("path"),
                       "module": source.get("source"),
                       "deleted": not bool(source.get("allocated", 1))},
            # The other copies of the mailbox that hold some of its messages (or copies of
            # them): where else an examiner can check them.
            "also_in": [{"item": o.get("key"), "path": o.get("path"),
                         "module": o.get("source"), "deleted": not bool(o.get("allocated", 1))}
                        for o in others],
            "app": tally.app,
            "conversation": tally.conversation,
            "account": tally.account,
            "participants": sorted(tally.participants - {OWNER}),
            "messages": tally.messages,
            "first": tally.first,
            "last": tally.last,
            "indicators": indicators,
            "score": value,
            "flagged": value >= rules.threshold,
        })
    docs.sort(key=lambda d: (-float(d["score"]), int(d["evidence_index"]),
                             str(d["source"]["item"]), str(d["app"]), str(d["conversation"])))
    keep_hits(hits)
    store.replace_conversations(docs)
