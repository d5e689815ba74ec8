"""Instagram on Android: `com.instagram.android/databases/direct.db` (direct messages).

`messages` holds one row per item of a thread: `thread_id` (the conversation), `timestamp`
(Unix *microseconds*), `message_type` (`text`, `media`, `link`, ..., `video_call_event`), the
`text`, and `message`, a JSON copy of the item whose `user_id` is its sender and `item_id` its
id. The signed-in account is the `session` table's `user_id` (the `messages.user_id` column,
the account the row belongs to, where there is no session row); a message whose sender is that
account was sent. `threads.thread_info` (JSON) lists the other participants (`recipients`,
`users`, `inviter`: `pk`, `username`), which name the senders. Call events are not messages
and are left out. Newer builds keep direct messages elsewhere (a zero-row direct.db is not
evidence that there were none).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any, ClassVar

from fellwatch.chats.base import OWNER, ChatSource, Message, Schema, cols, has, text_of
from fellwatch.chats.epochs import unix_us

_NOT_MESSAGES = ("video_call_event",)


def _json(value: object) -> dict[str, Any]:
    try:
        parsed = json.loads(text_of(value)) if value else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _members(info: dict[str, Any]) -> dict[str, str]:
    """user id -> username of a thread_info JSON's participants, inviter included."""
    people: list[Any] = []
    for key in ("recipients", "users"):
        if isinstance(info.get(key), list):
            people.extend(info[key])
    people.append(info.get("inviter"))
    found: dict[str, str] = {}
    for person in people:
        if not isinstance(person, dict):
            continue
        pk = text_of(person.get("pk") or person.get("pk_id") or person.get("id") or "")
        if pk:
            found.setdefault(pk, text_of(person.get("username") or ""))
    return found


class InstagramAndroid(ChatSource):
    name = "instagram-android"
    app = "Instagram"
    platform = "android"
    patterns = ("*/com.instagram.android/databases/direct.db", "*/direct.db")
    variants: ClassVar[dict[str, Schema]] = {
        "direct": {
            "messages": cols("_id", "thread_id", "timestamp", "message_type", "text",
                             "message"),
        },
    }
    covered = ("direct.db of Instagram for Android (messages with their JSON copy, threads, "
               "session; the schema ALEAPP reads on Android 11 to 17 extractions); times in "
               "Unix microseconds; call events left out")

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        session = None
        if has(db, "session", "user_id"):
            row = db.execute("SELECT user_id FROM session WHERE user_id IS NOT NULL "
                             "ORDER BY rowid LIMIT 1").fetchone()
            session = text_of(row[0]) if row else None
        members: dict[str, dict[str, str]] = {}
        if has(db, "threads", "thread_info") and has(db, "threads", "thread_id"):
            for thread, info in db.execute(
                    "SELECT thread_id, thread_info FROM threads ORDER BY rowid"):
                members.setdefault(text_of(thread), _members(_json(info)))
        account = "user_id" if has(db, "messages", "user_id") else "NULL"
        query = (f"SELECT _id, thread_id, timestamp, message_type, text, message, {account} "
                 "FROM messages ORDER BY _id")
        for rowid, thread, ts, kind, text, raw, row_account in db.execute(query):
            if text_of(kind) in _NOT_MESSAGES:
                continue
            item = _json(raw)
            chat = text_of(thread)
            owner = session or text_of(row_account)
            sender = text_of(item.get("user_id") or "")
            sent = bool(owner) and sender == owner
            people = members.get(chat, {})

            def shown(user: str, people: dict[str, str] = people) -> str:
                name = people.get(user)
                return f"{user} ({name})" if name else user

            others = tuple(shown(u) for u in people if u != owner)
            body = text if text is not None else item.get("text")
            yield Message(
                app=self.app, account=owner, conversation=chat,
                message_id=text_of(item.get("item_id") or rowid), time=unix_us(ts),
                direction="sent" if sent else "received",
                sender=OWNER if sent else shown(sender),
                recipients=(others or (chat,)) if sent else (OWNER,), text=text_of(body),
                table="messages", rowid=rowid,
            )
