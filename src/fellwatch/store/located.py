"""Items a later stage will reopen, kept by the item pass with their locators (`located`).

The chat stage needs a handful of items of an evidence (app databases, their `-wal` and
`-journal`, companion files such as wa.db) and, for each, the locator that reopens it. Walking
the evidence a second time to find them costs as much as the walk of the item pass (a stat
per file of a folder, a file system's whole directory tree in an image). So the item pass keeps
them as it commits each batch: the main process, which holds the batch's items, stores a row
for every item whose path a stage's `keep(path)` wants, in the batch's own transaction (a
resumed scan has the rows of exactly the committed batches). Nothing else about other items is
kept here: their paths and keys are in `records` already.

Members of archives inside the evidence (`outer.zip!000003`) cannot be reopened on their own;
a wanted member gets a row naming the walked item it came out of (`container`), and that item
gets a row with its locator, so a stage can expand it again with the scan's archive reader.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from typing import Any

from fellwatch.evidence.item import Item
from fellwatch.record import ItemRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS located (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    container TEXT,
    item TEXT,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
"""

# (key, path, size, container key or None, the walked item's JSON or None)
Row = tuple[str, str, int, str | None, str | None]

_ITEM_FIELDS = tuple(f.name for f in fields(Item))


def _encode(value: Any) -> Any:
    # Locators are tuples of str, int, bool, None and bytes (a folder's relative path):
    # JSON has no tuple and no bytes, so both are tagged.
    if isinstance(value, tuple):
        return {"t": [_encode(v) for v in value]}
    if isinstance(value, bytes):
        return {"b": base64.b64encode(value).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return tuple(_decode(v) for v in value["t"])
        return base64.b64decode(value["b"])
    return value


def encode_item(item: Item) -> str:
    data = {name: getattr(item, name) for name in _ITEM_FIELDS}
    data["locator"] = _encode(item.locator)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def decode_item(text: str) -> Item:
    data = json.loads(text)
    data["locator"] = _decode(data["locator"])
    return Item(**data)


def located_rows(items: Sequence[Item], records: Iterable[ItemRecord],
                 keep: Callable[[str], bool]) -> list[Row]:
    """The rows to keep for one batch: its wanted items, and its wanted archive members with
    the walked item each came out of. A worker yields an item's record, then its members'
    records, so a member follows the item that holds it."""
    by_key = {item.key: item for item in items}
    rows: list[Row] = []
    current: Item | None = None
    kept = False
    for record in records:
        item = by_key.get(record.key)
        if item is not None:
            current, kept = item, keep(item.path)
            if kept:
                rows.append((item.key, item.path, item.size, None, encode_item(item)))
            continue
        if current is None or not record.key.startswith(current.key + "!") \
                or not keep(record.path):
            continue
        if not kept:
            rows.append((current.key, current.path, current.size, None, encode_item(current)))
            kept = True
        rows.append((record.key, record.path, record.size, current.key, None))
    return rows
