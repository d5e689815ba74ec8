"""What the chat pages read: the engine's chat tables in a scan's own store, read-only.

The web keeps no copy of the messages: a scan's `scan.sqlite` (its output directory, recorded
on the Scan when it was imported) is the one place they are, read through the engine's
`ChatStore` in read-only mode.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fellwatch.chats.base import OWNER
from fellwatch.chats.store import ChatStore

# Stated ages to the safeguarding record's age bands (records.models.AgeBand values).
_BANDS = ((5, "0-4"), (10, "5-9"), (13, "10-12"), (16, "13-15"), (18, "16-17"))


@contextmanager
def chats_of(scan: Any) -> Iterator[ChatStore | None]:
    store = ChatStore.open_finished(Path(scan.out_dir) / "scan.sqlite")
    try:
        yield store
    finally:
        if store is not None:
            store.close()


def pseudonym(contact: str) -> str:
    """A pseudonymous reference for a contact (no number or name leaves the chat pages)."""
    return "OC-" + hashlib.sha256(contact.encode("utf-8")).hexdigest()[:8].upper()


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for below, band in _BANDS:
        if age < below:
            return band
    return "unknown"


def account(participant: str) -> str:
    """The app's own id of a participant shown as "id (name)": the same account saved under
    two names on two phones is one contact (the name is each phone's address book)."""
    return participant.split(" (", 1)[0]


def stated_age(conversation: dict[str, Any], contact: str) -> int | None:
    ages = [i["age"] for i in conversation["indicators"]
            if account(i.get("sender") or "") == account(contact) and i.get("age") is not None]
    return min(ages) if ages else None


def anchor(source_key: str, seq: int, listed_under: str | None) -> str:
    """A message's id in its thread's page: its order read, and for a message of another
    copy of the mailbox than the database the conversation is listed under, a tag of that
    database too (two databases each have a message 3)."""
    if listed_under is None or source_key == listed_under:
        return str(seq)
    return f"{seq}-{hashlib.sha256(source_key.encode('utf-8')).hexdigest()[:8]}"


@dataclass
class ThreadMessage:
    seq: int
    time: str | None
    direction: str
    sender: str
    text: str
    rules: list[str]
    attachments: list[dict[str, Any]]
    deleted: bool
    anchor: str = ""
    # The other databases holding a copy of this message (path, table, rowid, deleted).
    also_in: list[dict[str, Any]] = field(default_factory=list)


def thread(store: ChatStore, conversation: dict[str, Any]) -> list[ThreadMessage]:
    rows = store.conversation_messages(conversation["evidence_index"],
                                       conversation["source"]["item"], conversation["app"],
                                       conversation["conversation"])
    home = conversation["source"]["item"]
    return [ThreadMessage(
        seq=r["seq"], time=r["time"], direction=r["direction"],
        sender="device owner" if r["sender"] == OWNER else r["sender"], text=r["text"],
        rules=(r["rules"] or "").split(";") if r["rules"] else [],
        attachments=json.loads(r["attachments"]), deleted=bool(r["deleted"]),
        anchor=anchor(r["source_key"], r["seq"], home),
        also_in=json.loads(r["copies"] or "[]"),
    ) for r in rows]


def attachment_findings(scan: Any, evidence_index: int,
                        messages: list[ThreadMessage]) -> list[int]:
    """Tie each attachment of `messages` to the gallery's finding of the same item (its
    `finding` id, None when the attachment did not resolve to an item or the item is not a
    finding of this scan); returns the finding ids, sorted.

    An attachment is the scan's own item (the chat stage resolved it in the same evidence), so
    the gallery's finding is found by the scan, the evidence's position and the item's key."""
    from fellwatch.web.records.models import Finding

    keys = {a["item"] for m in messages for a in m.attachments if a.get("item")}
    by_key = dict(Finding.objects.filter(scan=scan, evidence_index=evidence_index, key__in=keys)
                  .values_list("key", "id")) if keys else {}
    for m in messages:
        for a in m.attachments:
            a["finding"] = by_key.get(a.get("item") or "")
    return sorted(by_key.values())


def sent_in(finding: Any) -> list[dict[str, Any]]:
    """Where the finding's item was sent as a chat attachment: one entry per message (app,
    conversation, account, time, direction, sender, database, the conversation's rank and
    whether it is flagged), in time order; empty when its scan holds no chats."""
    with chats_of(finding.scan) as store:
        if store is None:
            return []
        rows = store.attachment_messages(finding.evidence_index, finding.key)
    for r in rows:
        r["sender"] = "device owner" if r["sender"] == OWNER else r["sender"]
        r["flagged"] = bool(r["flagged"])
        r["deleted"] = bool(r["deleted"])
    return rows
