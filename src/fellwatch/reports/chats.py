"""messages.csv and conversations.json, written from the scan store's chat tables only.

Both are deterministic: messages in one timeline (UTC time, then evidence, database and the
order read), conversations highest score first; no wall-clock time in either.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from fellwatch.chats.store import ChatStore
from fellwatch.store.inventory import formula_safe

MESSAGE_COLUMNS = (
    "time", "app", "account", "conversation", "message_id", "direction", "sender",
    "recipients", "text", "attachments", "attachment_items", "indicators", "deleted",
    "evidence", "source_path", "source_table", "source_rowid", "also_in",
)  # fmt: skip


def also_in(copies: str | None) -> str:
    """The other databases holding a copy of the message (`ChatStore.merge_copies`), as
    "path (table rowid N)", a recovered deleted record or a deleted file said so."""
    shown = []
    for c in json.loads(copies or "[]"):
        marks = [m for m, on in (("deleted record", c["deleted"]),
                                 ("deleted file", c["file_deleted"])) if on]
        shown.append(f"{c['path']} ({c['table']} rowid {c['rowid']}"
                     + "".join(", " + m for m in marks) + ")")
    return ";".join(shown)


def write_chat_outputs(store_path: Path, out_dir: Path,
                       evidence: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Write OUT/messages.csv and OUT/conversations.json when the evidence holds any chat
    database (read or not); the flagged conversations back. Evidence without one gets neither
    file, so its outputs are what they were before chats were read."""
    store = ChatStore(store_path)
    try:
        if not store.sources():
            return []
        paths = {i: e["path"] for i, e in enumerate(evidence or [])}
        sources = {(s["evidence"], s["key"]): s["path"] for s in store.sources()}
        with (out_dir / "messages.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(MESSAGE_COLUMNS)
            for r in store.messages_by_time():
                attachments = json.loads(r["attachments"])
                writer.writerow(formula_safe(v) for v in (
                    r["time"] or "", r["app"], r["account"], r["conversation"],
                    r["message_id"], r["direction"], r["sender"],
                    ";".join(json.loads(r["recipients"])), r["text"],
                    ";".join(a["name"] for a in attachments),
                    ";".join(a["item"] or "" for a in attachments),
                    r["rules"] or "", bool(r["deleted"]), paths.get(r["evidence"], r["evidence"]),
                    sources.get((r["evidence"], r["source_key"]), r["source_key"]),
                    r["source_table"], r["source_rowid"], also_in(r["copies"]),
                ))
        conversations = store.conversations()
        doc = {"conversations": conversations, "sources": store.sources()}
        text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False)
        (out_dir / "conversations.json").write_text(text + "\n", encoding="utf-8")
        return [c for c in conversations if c["flagged"]]
    finally:
        store.close()
