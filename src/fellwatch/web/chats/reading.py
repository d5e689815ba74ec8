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
    finding of this scan, and `thumbnail_error`, why that finding has no thumbnail, as its
    gallery tile says); returns the finding ids, sorted.

    An attachment is the scan's own item (the chat stage resolved it in the same evidence), so
    the gallery's finding is found by the scan, the evidence's position and the item's key."""
    from fellwatch.web.records.models import Finding
    from fellwatch.web.review.pictures import thumbnail_failures

    keys = {a["item"] for m in messages for a in m.attachments if a.get("item")}
    rows = list(Finding.objects.filter(scan=scan, evidence_index=evidence_index, key__in=keys)
                .values_list("key", "id", "media", "error")) if keys else []
    by_key = {key: pk for key, pk, _, _ in rows}
    pictured = sorted(key for key, _, media, _ in rows if media)
    try:
        failed = thumbnail_failures(scan.out_dir, evidence_index, pictured, {
            key: error for key, _, media, error in rows if media and error}) if pictured else {}
    except Exception:  # a scan folder moved: the picture says so itself
        failed = {}
    for m in messages:
        for a in m.attachments:
            a["finding"] = by_key.get(a.get("item") or "")
            a["thumbnail_error"] = failed.get(a.get("item") or "", "")
    return sorted(by_key.values())


# How many scans a finding's page asks for the messages its picture was sent in (its own,
# then the case's others in import order) and how many of a scan's copies of the picture.
# Each copy asked is a read of its scan's messages with attachments (about 0.13 s at
# 1 000 000 messages), so the page stays fast on a case of many phones or of a picture
# copied many times; the page says how many copies it left out.
SENT_IN_SCANS = 8
SENT_IN_COPIES = 4


@dataclass
class SentIn:
    """What a finding's page lists under "Sent in chats"."""

    messages: list[dict[str, Any]]
    # Copies of the picture in the case's scans with chats that were not asked (the bounds).
    not_searched: int = 0


def _same_picture(finding: Any) -> list[dict[str, str]]:
    """Filters on Finding, one query each, of the items with the finding's content: the same
    SHA-1, or the same MD5 where one of them has no SHA-1. Apart, not OR-ed: SQLite then
    reads each from the (case, sha1) index (an OR of them read every row of the case); only
    an item without a SHA-1 reads the case's rows for its MD5."""
    if finding.sha1:
        same = [{"sha1": finding.sha1}]
        return [*same, {"sha1": "", "md5": finding.md5}] if finding.md5 else same
    return [{"md5": finding.md5}] if finding.md5 else []


def sent_in(finding: Any) -> SentIn:
    """Where the finding's picture was sent as a chat attachment: one entry per message (app,
    conversation, account, time, direction, sender, database, the conversation's rank and
    whether it is flagged, and the scan, exhibit and item it was read from), in time order.

    The finding's own scan is asked by its item's key; every other scan of the same case with
    chats is asked by the keys of its findings with the same content (SHA-1, or MD5 where one
    has none), found in the database first: a picture on the laptop sent on the phone's
    WhatsApp lists that message. Only scans of the finding's own case are ever asked (a case
    page; what the user may see of it is the case), at most SENT_IN_SCANS of them and
    SENT_IN_COPIES copies in each."""
    from django.db.models import Q

    from fellwatch.web.records.models import Finding, Scan

    wanted: dict[int, list[tuple[int, str, str]]] = {
        finding.scan_id: [(finding.evidence_index, finding.key, finding.path)]}
    # Only scans that read chats (or whose summary predates the chat counts).
    chatty = Q(scan__summary__messages__gt=0) | ~Q(scan__summary__has_key="messages")
    copies: set[tuple[int, int, str, str]] = set()
    for same in _same_picture(finding):
        copies |= set(Finding.objects.filter(case_id=finding.case_id,
                                             scan__exhibit__case_id=finding.case_id, **same)
                      .exclude(pk=finding.pk).filter(chatty).order_by()
                      .values_list("scan_id", "evidence_index", "key", "path"))
    for scan_id, evidence, key, path in sorted(copies):
        wanted.setdefault(scan_id, []).append((evidence, key, path))
    order = [finding.scan_id, *sorted(s for s in wanted if s != finding.scan_id)]
    asked = order[:max(1, SENT_IN_SCANS)]
    # The finding's own item is always asked (its scan's first entry) and is no copy.
    limit = {s: SENT_IN_COPIES + (s == finding.scan_id) for s in asked}
    left = sum(len(wanted[s]) for s in order[len(asked):]) + sum(
        max(0, len(wanted[s]) - limit[s]) for s in asked)
    scans = {s.pk: s for s in Scan.objects.filter(pk__in=asked).select_related("exhibit")}
    rows: list[dict[str, Any]] = []
    for scan_id in asked:
        scan = scans[scan_id]
        with chats_of(scan) as store:
            if store is None:
                continue
            for evidence, key, path in wanted[scan_id][:limit[scan_id]]:
                for r in store.attachment_messages(evidence, key):
                    r.update(scan=scan_id, exhibit=scan.exhibit.reference,
                             exhibit_id=scan.exhibit_id, path=path,
                             same_item=scan_id == finding.scan_id and key == finding.key)
                    rows.append(r)
    for r in rows:
        r["sender"] = "device owner" if r["sender"] == OWNER else r["sender"]
        r["flagged"] = bool(r["flagged"])
        r["deleted"] = bool(r["deleted"])
    # Time order across the scans (no time last), then where, so the page is the same twice.
    rows.sort(key=lambda r: (r["time"] is None, r["time"] or "", r["exhibit"], r["scan"],
                             r["source_path"] or "", r["source_key"], r["seq"]))
    return SentIn(rows, not_searched=left)
