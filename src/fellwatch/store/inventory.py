"""A record's inventory.csv row, made once with the record and stored beside it.

inventory.csv lists every item, so writing it by decoding every stored record again cost the
scan's one main process ~35 µs a file at the end (docs/performance.md). The row is rendered
where the record's stored JSON is (in the worker, in parallel, for records matching leaves as
the worker made them; in the main process for the others) and the report streams the rows.
"""

from __future__ import annotations

import csv
import io

from fellwatch.record import ItemRecord

INVENTORY_COLUMNS = (
    "evidence", "path", "size", "allocated", "origin", "partition", "inode", "offset",
    "md5", "sha1", "sha256", "content_type", "extension_mismatch", "categories", "known_good",
    "review", "candidates", "carved_duplicate_of", "error", "mtime", "camera", "camera_serial",
    "taken", "gps", "path_spec",
)  # fmt: skip


def exif_lead(record: ItemRecord) -> dict[str, str]:
    """Camera, serial, date taken and GPS of a picture, as text (empty when absent)."""
    exif = record.signals.get("exif") or {}
    gps = exif.get("gps") or {}
    camera = " ".join(str(exif[k]) for k in ("make", "model") if exif.get(k))
    serial = exif.get("serial") or ""
    return {
        "camera": camera,
        "camera_serial": str(serial),
        "taken": str(exif.get("datetime_original") or ""),
        "gps": f"{gps['lat']:.6f},{gps['lon']:.6f}" if "lat" in gps and "lon" in gps else "",
    }


def is_lead(record: ItemRecord) -> bool:
    """A picture whose EXIF can tie it to a place or a device: victim-identification lead."""
    if not record.signals.get("exif"):
        return False  # most records (asked of every one as it is stored)
    lead = exif_lead(record)
    return bool(lead["gps"] or lead["camera_serial"])


def formula_safe(value: object) -> object:
    # A name that starts like a formula must not run as one when the CSV is opened in a
    # spreadsheet; the leading apostrophe is the spreadsheet convention for "text".
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


class _Line:
    """csv.writer's bytes for one row (the excel dialect inventory.csv is written in)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def __call__(self, row: list[object]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(row)
        return self._buffer.getvalue()


_line = _Line()

HEADER = _line(list(INVENTORY_COLUMNS))


def inventory_line(r: ItemRecord) -> str:
    """The record's inventory.csv row, line ending included."""
    lead = exif_lead(r)
    return _line(
        [
            formula_safe(v)
            for v in [
                r.evidence,
                r.path,
                r.size,
                r.allocated,
                r.origin,
                r.partition or "",
                "" if r.inode is None else r.inode,
                "" if r.offset is None else r.offset,
                r.md5 or "",
                r.sha1 or "",
                r.sha256 or "",
                r.content_type or "",
                r.extension_mismatch,
                ";".join(r.categories()),
                r.known_good,
                r.review,
                len(r.candidates),
                r.carved_duplicate_of or "",
                r.error or "",
                r.times.get("mtime", ""),
                lead["camera"],
                lead["camera_serial"],
                lead["taken"],
                lead["gps"],
                r.path_spec or "",
            ]
        ]
    )
