"""The chat stage of a scan: after the item pass, read every app database on the evidence.

Candidates are items whose path fits a source's pattern; each is read from the evidence with its
`-wal` and `-journal` siblings, in memory (`sqlite_image`), and checked against the source's
schema. Files a source reads beside its database (`ChatSource.companions`: WhatsApp's wa.db
names, Messenger's threads_db2-uid) are read from the database's folder on the same evidence.
Its messages go to the scan store (`chats.store`) in one transaction per database, so a resumed
scan picks up where it stopped. At the end the conversations are rebuilt and ranked from
the stored messages with the rule file's indicators.

Archive members inside other evidence (a zip on a disk image) are not reopened here: they are
read once, as a stream, by the item pass. A phone extraction given as a zip or tar is evidence
of its own (`evidence.extraction`) whose members are read like files.
"""

from __future__ import annotations

import json
import posixpath
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fellwatch.chats import carve, cells
from fellwatch.chats.base import OWNER, ChatSource, ChatSourceError, Message, named
from fellwatch.chats.registry import SOURCES, for_path
from fellwatch.chats.rules import Rules, load_rules
from fellwatch.chats.scoring import Indicator, Tally, score
from fellwatch.chats.sqlite_image import DatabaseError, Recovered, open_in_memory, recover
from fellwatch.chats.store import ChatStore, SourceOutcome
from fellwatch.evidence import Evidence, Item

# A database, its WAL and journal are held in memory together (a phone's msgstore.db is
# rarely above a few hundred MB); a larger one is an item error, not a memory exhaustion.
MAX_DATABASE_BYTES = 2 << 30
_CHUNK = 1 << 20
# A carved deleted record is taken only with a time in these years (ISO prefixes, end excluded).
PLAUSIBLE_YEARS = ("1990", "2100")


@dataclass(frozen=True, slots=True)
class StageOutcome:
    databases: int
    messages: int
    errors: int


def _read_all(ev: Evidence, item: Item) -> bytes:
    with ev.open_item(item) as stream:
        parts = []
        got = 0
        while chunk := stream.read(_CHUNK):
            parts.append(chunk)
            got += len(chunk)
            if got > MAX_DATABASE_BYTES:
                raise DatabaseError(f"larger than {MAX_DATABASE_BYTES >> 20} MiB: not read")
        return b"".join(parts)


class _Names:
    """Items by file name, for tying an attachment's stored path to an item of the evidence."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[tuple[str, str]]] = {}

    def add(self, item: Item) -> None:
        name = posixpath.basename(item.path).lower()
        self.by_name.setdefault(name, []).append((item.path, item.key))

    def resolve(self, stored: str) -> dict[str, Any]:
        parts = [p for p in stored.replace("\\", "/").lower().split("/") if p and p != "~"]
        found: dict[str, Any] = {"name": stored, "item": None, "path": None}
        if not parts:
            return found
        best: tuple[int, str, str] | None = None
        for path, key in self.by_name.get(parts[-1], []):
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


def run_chat_stage(
    opened: Sequence[Evidence], store_path: Path, rules_path: str = "", restart: bool = False,
) -> StageOutcome:
    """Read the chat databases of every evidence into the store, then rank conversations."""
    rules = load_rules(rules_path)
    store = ChatStore(store_path)
    databases = messages = errors = 0
    companions = _companion_names()
    try:
        if restart:
            store.reset()
        for index, ev in enumerate(opened):
            done = store.done(index)
            siblings: dict[tuple[str | None, str], Item] = {}
            candidates: list[tuple[Item, list[ChatSource]]] = []
            for item in ev.items():
                lower = item.path.lower()
                if lower.endswith(("-wal", "-journal")):
                    siblings[(item.partition, item.path)] = item
                    continue
                if posixpath.basename(lower) in companions and _is_reopenable(item):
                    # Read beside the database in its folder (wa.db's names), never on its own;
                    # a live file wins over a deleted one of the same path.
                    where = (item.partition, item.path)
                    if where not in siblings or item.allocated:
                        siblings[where] = item
                sources = for_path(item.path, deleted=not item.allocated)
                if sources and _is_reopenable(item):
                    candidates.append((item, sources))
            todo = [(item, sources) for item, sources in candidates if item.key not in done]
            # The name index that ties attachments to items is built only where there are
            # databases to read, so evidence without chats costs no second walk and no memory
            # that grows with its file count.
            names = _Names()
            if todo:
                for item in ev.items():
                    names.add(item)
            for item, sources in todo:
                outcome, stream = _read_database(ev, item, sources, siblings, names,
                                                 store.item_error(index, item.key))
                stored, error = store.commit_source(index, item.key, outcome, stream)
                databases += 1
                messages += stored
                errors += error is not None
        rank_conversations(store, rules, [ev.path for ev in opened])
    finally:
        store.close()
    return StageOutcome(databases, messages, errors)


def _read_database(
    ev: Evidence, item: Item, sources: list[ChatSource],
    siblings: dict[tuple[str | None, str], Item],
    names: _Names, item_error: str | None,
) -> tuple[SourceOutcome, Iterator[tuple[Message, list[dict[str, Any]]]]]:
    empty: Iterator[tuple[Message, list[dict[str, Any]]]] = iter(())
    base = SourceOutcome(path=item.path, allocated=item.allocated)
    if item.error is not None or item_error is not None:
        # The item pass could not read it; that error is already on its record.
        return SourceOutcome(item.path, item.allocated,
                             error=f"not read: {item.error or item_error}"), empty
    try:
        main = _read_all(ev, item)
        wal = _sibling(ev, siblings, (item.partition, item.path + "-wal"))
        journal = _sibling(ev, siblings, (item.partition, item.path + "-journal"))
        recovered = recover(main, wal, journal)
        db = open_in_memory(recovered)
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
        found = _companions(ev, siblings, item, source)
        messages: Iterator[Message] = with_deleted(
            source, db, variant, item.path, recovered,
            live=source.read_with(db, variant, item.path, found))
        try:
            contacts = source.contact_names(found) if found else {}
        except Exception:  # a damaged contacts file costs the names, never the messages
            contacts = {}
        if contacts:
            messages = (named(m, contacts) for m in messages)
        return outcome, _with_attachments(messages, names, db)
    db.close()
    return SourceOutcome(base.path, base.allocated, error="chats: " + "; ".join(failures)), empty


def carved_messages(source: ChatSource, db: sqlite3.Connection, variant: str, path: str,
                    recovered: Recovered) -> list[Message]:
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
        message = source.from_deleted(db, variant, path, row, rowid)
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
                 recovered: Recovered, live: Iterable[Message] | None = None
                 ) -> Iterator[Message]:
    """The source's live messages (`live`, or `source.read`), then its carved deleted ones
    that are not a live message (a stale copy of a row since updated, whose rowid was
    overwritten, is one): the carved records are held (few) and checked as the live messages
    stream past, never the reverse."""
    failed: Exception | None = None
    try:
        carved = carved_messages(source, db, variant, path, recovered)
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


def _companions(ev: Evidence, siblings: dict[tuple[str | None, str], Item], item: Item,
                source: ChatSource) -> dict[str, bytes]:
    """The bytes of the source's companion files in the database's folder (and of their
    -wal and -journal), by file name; what the evidence lacks or cannot read is left out."""
    folder = posixpath.dirname(item.path)
    found: dict[str, bytes] = {}
    for name in source.companions:
        for suffix in ("", "-wal", "-journal"):
            data = _sibling(ev, siblings, (item.partition, posixpath.join(folder, name + suffix)))
            if data is not None:
                found[name + suffix] = data
    return found


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, DatabaseError | ChatSourceError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def rank_conversations(store: ChatStore, rules: Rules, evidence_paths: Sequence[str]) -> None:
    """Rebuild every conversation from the stored messages: indicators, score, rank."""
    store.index()
    tallies: list[Tally] = []
    hits: list[tuple[int, str, int, str]] = []
    minors: dict[int, set[str]] = {}
    current: Tally | None = None
    recipients: dict[str, list[str]] = {}  # the same recipients' JSON repeats row after row
    for row in store.messages_by_conversation():
        ident = (row["evidence"], row["source_key"], row["app"], row["conversation"])
        if current is None or (current.evidence, current.source_key, current.app,
                               current.conversation) != ident:
            current = Tally(*ident)
            tallies.append(current)
            recipients.clear()
        text = row["recipients"]
        if text not in recipients:
            recipients[text] = json.loads(text)
        current.add(row["time"], row["sender"], recipients[text], row["account"])
        found = rules.match(row["text"])
        if not found:
            continue
        hits.append((row["evidence"], row["source_key"], row["seq"],
                     ";".join(h.rule for h in found)))
        for hit in found:
            current.indicators.append(Indicator(hit, row["message_id"], row["time"],
                                                row["sender"]))
            if hit.minor:
                minors.setdefault(row["evidence"], set()).add(row["sender"])
    sources = {(s["evidence"], s["key"]): s for s in store.sources()}
    docs: list[dict[str, Any]] = []
    for tally in tallies:
        value, indicators = score(tally, minors.get(tally.evidence, set()), rules)
        source = sources.get((tally.evidence, tally.source_key), {})
        docs.append({
            "evidence": evidence_paths[tally.evidence] if tally.evidence < len(evidence_paths)
            else str(tally.evidence),
            "evidence_index": tally.evidence,
            "source": {"item": tally.source_key, "path": source.get("path"),
                       "module": source.get("source"),
                       "deleted": not bool(source.get("allocated", 1))},
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
    store.replace_conversations(docs, hits)
