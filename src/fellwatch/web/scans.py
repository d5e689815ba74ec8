"""Import a scan's output directory (findings.json, schema 1) against a case's exhibit.

This is where the engine's output meets the records; the engine itself never imports Django.
Every item is kept whole (`FindingRecord`) beside the columns the pages filter and count on.
findings.json is read as a stream (one item at a time) and written in batches, so a scan of
50 000 findings is recorded in seconds and without holding the whole document in memory.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fellwatch.errors import FellwatchError

SUPPORTED_SCHEMA = 1
BATCH = 2000  # findings per executemany / COPY: few round trips, little memory
_CHUNK = 1 << 20


class ScanImportError(FellwatchError, ValueError):
    """The directory cannot be imported; the message says why in one line."""


def import_scan_dir(
    out_dir: Path, case_ref: str, exhibit_ref: str, user: str | None = None
) -> int:
    """Record `out_dir`'s evidence, scan and findings against exhibit `exhibit_ref` of case
    `case_ref`, with one "examined" custody entry per evidence (SHA-256 before and after).

    Returns the number of findings recorded. Sets Django up (and migrates a new store) when the
    caller has not. All or nothing: on any error nothing is recorded.
    """
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    return _import(Path(out_dir), case_ref, exhibit_ref, user or "system")


def check_exhibit(case_ref: str, exhibit_ref: str) -> None:
    """Raise ScanImportError unless the records hold exhibit `exhibit_ref` of case `case_ref`.

    `fellwatch scan --case --exhibit` calls this before the scan starts, so a typo costs a
    second, not a whole scan.
    """
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    _exhibit(case_ref, exhibit_ref)


def _exhibit(case_ref: str, exhibit_ref: str) -> Any:
    """The exhibit a scan is recorded against, if its chain of custody takes the "examined"
    entry the import appends: not of a void case, not void, not returned or destroyed. The
    chain's own check (CustodyEntry.chain_errors) decides, as it does again when the entry is
    saved; asked first so a refused import reads no findings."""
    from django.utils import timezone

    from fellwatch.web.records.models import CustodyAction, CustodyEntry, Exhibit

    exhibit = Exhibit.objects.filter(case__reference=case_ref, reference=exhibit_ref).first()
    if exhibit is None:
        raise ScanImportError(f"no exhibit {exhibit_ref!r} in case {case_ref!r}")
    probe = CustodyEntry(exhibit=exhibit, at=timezone.now(), action=CustodyAction.EXAMINED)
    refused = probe.chain_errors()
    if refused:
        raise _custody_refused(exhibit, refused.values())
    return exhibit


def _custody_refused(exhibit: Any, reasons: Any) -> ScanImportError:
    return ScanImportError(f"exhibit {exhibit.reference!r} of case {exhibit.case.reference!r} "
                           f"takes no custody entry: {' '.join(reasons)}")


# --- reading findings.json as a stream ----------------------------------------------------------


@dataclass
class _Stream:
    """Top-level members of findings.json; `items` are handed out one by one as they are read.

    Members before "items" (sorted keys put evidence and hashsets there) are in `head` when the
    first item arrives; the rest (schema, settings, summary, tool) once the items are done.
    """

    fh: IO[bytes]
    digest: Any = field(default_factory=hashlib.sha256)
    head: dict[str, Any] = field(default_factory=dict)
    buf: str = ""
    pos: int = 0
    eof: bool = False
    _decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8-sig")())
    _json: json.JSONDecoder = field(default_factory=json.JSONDecoder)

    def _more(self) -> bool:
        if self.eof:
            return False
        blob = self.fh.read(_CHUNK)
        self.digest.update(blob)
        if not blob:
            self.eof = True
            self.buf = self.buf[self.pos:] + self._decoder.decode(b"", final=True)
            self.pos = 0
            return True
        self.buf = self.buf[self.pos:] + self._decoder.decode(blob)
        self.pos = 0
        return True

    def _skip_ws(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _expect(self, chars: str) -> str:
        c = self._skip_ws()
        if not c or c not in chars:
            raise ValueError(f"expected one of {chars!r} at character {self.pos}, found {c!r}")
        self.pos += 1
        return c

    def _value(self) -> Any:
        self._skip_ws()
        while True:
            try:
                value, end = self._json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                # Either broken or cut by the chunk: read more and try again; at the end of the
                # file the error is real.
                if not self._more():
                    raise
                continue
            # A number at the buffer's end may continue in the next chunk.
            if end == len(self.buf) and not self.eof and not isinstance(value, dict | list | str):
                self._more()
                continue
            self.pos = end
            return value

    def items(self) -> Iterator[dict[str, Any]]:
        self._expect("{")
        if self._skip_ws() == "}":
            return
        while True:
            key = self._value()
            self._expect(":")
            if key == "items":
                self._expect("[")
                if self._skip_ws() == "]":
                    self.pos += 1
                else:
                    while True:
                        item = self._value()
                        if not isinstance(item, dict):
                            raise ValueError("an item is not an object")
                        yield item
                        if self._expect(",]") == "]":
                            break
                self.head.setdefault("items", True)
            else:
                self.head[str(key)] = self._value()
            if self._expect(",}") == "}":
                break
        if self._skip_ws():
            raise ValueError("data after the document")


def _check_head(path: Path, head: dict[str, Any], complete: bool) -> None:
    if "schema" in head and head["schema"] != SUPPORTED_SCHEMA:
        raise ScanImportError(
            f"{path}: schema {head['schema']!r}, this version reads {SUPPORTED_SCHEMA}")
    if complete:
        if "schema" not in head:
            raise ScanImportError(f"{path}: schema None, this version reads {SUPPORTED_SCHEMA}")
        for key in ("tool", "evidence", "summary", "items"):
            if key not in head:
                raise ScanImportError(f"{path}: no {key!r}")


# --- one item to its columns ----------------------------------------------------------------------


def _categories(matches: list[dict[str, Any]]) -> list[str]:
    """As reports.findings.categories: every known-bad match's category."""
    return sorted({str(m.get("category") or "uncategorised") for m in matches
                   if m.get("set_kind") == "known-bad"})


def _media(content_type: str) -> str:
    if content_type.startswith("image/"):
        return "picture"
    if content_type.startswith("video/"):
        return "video"
    return ""


def columns(item: dict[str, Any]) -> dict[str, Any]:
    """The Finding columns taken from one item of findings.json (the item itself is kept too)."""
    from fellwatch.web.review.config import pregrade_for

    matches = item.get("matches") or []
    candidates = item.get("candidates") or []
    cats = _categories(matches)
    signals = item.get("signals") or {}
    exif = signals.get("exif") or {}
    gps = exif.get("gps") or {}
    pdq = signals.get("pdq") or {}
    path = str(item.get("path", ""))
    content_type = str(item.get("content_type") or "")
    duplicate = item.get("carved_duplicate_of")
    review = bool(item.get("review"))
    has_gps = "lat" in gps and "lon" in gps
    first_bad = next((m for m in matches if m.get("set_kind") == "known-bad"), None)
    exact = [m for m in matches if m.get("set_kind") == "known-bad" and not m.get("distance")]
    return {
        "evidence_path": str(item.get("evidence", "")),
        "key": str(item["key"]),
        "path": path,
        "folder": path.rsplit("/", 1)[0] + "/" if "/" in path else "",
        "path_spec": item.get("path_spec"),
        "partition": item.get("partition"),
        "inode": item.get("inode"),
        "offset": item.get("offset"),
        "size": int(item.get("size") or 0),
        "allocated": bool(item.get("allocated", True)),
        "origin": str(item.get("origin") or ""),
        "in_archive": item.get("origin") == "archive" or "!" in path,
        "md5": str(item.get("md5") or ""),
        "sha1": str(item.get("sha1") or ""),
        "sha256": str(item.get("sha256") or ""),
        "pdq": str(pdq.get("hash") or "")[:64],
        "pdq_quality": pdq.get("quality"),
        "content_type": content_type[:100],
        "media": _media(content_type),
        "date": str(exif.get("datetime_original")
                    or (item.get("times") or {}).get("mtime") or "")[:32],
        "camera": " ".join(str(exif[k]) for k in ("make", "model") if exif.get(k))[:200],
        "has_gps": has_gps,
        "exif_lead": has_gps or bool(exif.get("serial")),
        "matches": matches,
        "candidates": candidates,
        "known_bad": bool(cats),
        "category": str(first_bad.get("category") or "uncategorised")[:32] if first_bad else "",
        "categories": ";".join(cats)[:300],
        "hashsets": (";" + ";".join(sorted({str(m.get("hashset")) for m in matches})) + ";"
                     if matches else "")[:300],
        "candidate_category": str(candidates[0].get("category") or "")[:32] if candidates else "",
        "has_candidates": bool(candidates),
        "known_good": bool(item.get("known_good")),
        "review": review,
        "error": item.get("error"),
        "carved_duplicate_of": duplicate,
        "carved_duplicate": bool(duplicate),
        "needs_person": not duplicate and (review or bool(candidates)),
        "pregrade": pregrade_for(exact) if exact and not duplicate else "",
        **_candidate_suggestion(candidates),
    }


def _candidate_suggestion(candidates: list[dict[str, Any]]) -> dict[str, str]:
    """A candidate's suggested grade, from its known picture's category, and why."""
    from fellwatch.web.review.config import pregrade_for

    if not candidates:
        return {}
    c = candidates[0]
    why = c.get("reason") or "near a known picture"
    return {"suggestion": pregrade_for([c]),
            "suggestion_source": (f"candidate: {why} (set {c.get('hashset')}, distance "
                                  f"{c.get('distance')}, quality {c.get('quality')})")[:300]}


# --- the import ---------------------------------------------------------------------------------


def _import(out_dir: Path, case_ref: str, exhibit_ref: str, user: str) -> int:
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from fellwatch.web.audit.actor import acting_as
    from fellwatch.web.records.models import Scan

    path = out_dir / "findings.json"
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ScanImportError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        exhibit = _exhibit(case_ref, exhibit_ref)
    except ScanImportError:
        fh.close()
        raise
    stream = _Stream(fh)
    count = 0
    try:
        with fh, acting_as(user), transaction.atomic():
            # The scan row first (the findings point at it); what comes after the items in
            # findings.json (summary, settings, tool) is filled in once they are read.
            scan = Scan.objects.create(
                exhibit=exhibit, out_dir=str(out_dir.resolve()),
                # Unique until the digest is known (after the last item): not a SHA-256.
                findings_sha256=f"importing-{uuid.uuid4().hex}",
                tool_version="", schema=SUPPORTED_SCHEMA, imported_by=user)
            writer = _FindingWriter(scan.pk, exhibit.case_id)
            index: dict[str, int] | None = None
            categories: set[str] = set()
            for item in stream.items():
                _check_head(path, stream.head, complete=False)
                if "key" not in item:
                    raise ScanImportError(f"{path}: item {count + 1} has no 'key'")
                if index is None:
                    if "evidence" not in stream.head:
                        # findings.json's keys are sorted: "evidence" comes before "items".
                        raise ScanImportError(f"{path}: 'items' before 'evidence'")
                    index = _evidence_index(stream.head)
                row = columns(item)
                writer.add({"evidence_index": index.get(str(item.get("evidence")), 0), **row},
                           item)
                for cat in (row["category"], row["candidate_category"]):
                    if cat:
                        categories.add(cat)
                count += 1
            writer.flush()
            doc = stream.head
            _check_head(path, doc, complete=True)
            digest = stream.digest.hexdigest()
            if Scan.objects.filter(findings_sha256=digest).exists():
                raise ScanImportError(f"{path} was imported before")
            scan.facets = {"categories": sorted(categories)}
            _finish_scan(scan, doc, digest, exhibit, user)
            from fellwatch.web.review.library import suggest_from_library
            from fellwatch.web.review.stacks import restack

            restack(exhibit.case_id)
            suggest_from_library(scan)
            _analyze()
    except ValidationError as exc:
        # The records refused the scan, its evidence or its custody entry: the exhibit was
        # voided, returned or destroyed while the findings were read. Nothing is kept.
        raise _custody_refused(exhibit, exc.messages) from exc
    except ValueError as exc:
        if isinstance(exc, ScanImportError):
            raise
        raise ScanImportError(f"{path}: not JSON ({exc})") from exc
    return count


class _FindingWriter:
    """Findings written in batches straight to their table: the ORM's bulk_create spends about
    a millisecond a row preparing values (45 columns) and splits a batch into INSERTs of 22
    rows on SQLite, which made an import of 50 000 findings take a minute. Values here are
    prepared once, by column type; PostgreSQL takes them by COPY, SQLite by executemany."""

    def __init__(self, scan_id: int, case_id: int) -> None:
        from django.db import connection
        from django.db.models import BooleanField, JSONField

        from fellwatch.web.records.models import Finding, FindingRecord

        self.connection = connection
        fields = [f for f in Finding._meta.concrete_fields if not f.primary_key]
        self.names = [f.attname for f in fields]
        self.defaults = {f.attname: f.get_default() for f in fields}
        self.defaults.update(scan_id=scan_id, case_id=case_id)
        self.json = {f.attname for f in fields if isinstance(f, JSONField)}
        self.bools = {f.attname for f in fields if isinstance(f, BooleanField)}
        quote = connection.ops.quote_name
        self.table = quote(Finding._meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in fields)
        self.rows: list[tuple[Any, ...]] = []
        self.records: list[tuple[Any, ...]] = []
        self.scan_id = scan_id
        self.record_table = quote(FindingRecord._meta.db_table)

    def add(self, values: dict[str, Any], item: dict[str, Any]) -> None:
        defaults, dumps = self.defaults, json.dumps
        # The item's keys are already sorted (findings.json is); kept as written.
        self.records.append((self.scan_id, values["evidence_index"], values["key"],
                             dumps(item, ensure_ascii=False)))
        row = []
        for name in self.names:
            v = values[name] if name in values else defaults[name]
            if name in self.json:
                v = dumps(v, ensure_ascii=False)
            elif name in self.bools:
                v = bool(v)
            row.append(v)
        self.rows.append(tuple(row))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        q = self.connection.ops.quote_name
        record_columns = ", ".join(q(c) for c in ("scan_id", "evidence_index", "key", "record"))
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                raw = cursor.cursor  # psycopg's own cursor: COPY
                with raw.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
                with raw.copy(f"COPY {self.record_table} ({record_columns}) FROM STDIN") as copy:
                    for row in self.records:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.names))
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})",
                                   self.rows)
                cursor.executemany(f"INSERT INTO {self.record_table} ({record_columns}) "
                                   "VALUES (%s, %s, %s, %s)", self.records)
        self.rows = []
        self.records = []


def _analyze() -> None:
    """PostgreSQL plans from table statistics; after a COPY of 50 000 rows they are those of
    an empty table and the gallery's pages fell back to sequential scans (0.5 s a query)."""
    from django.db import connection

    from fellwatch.web.records.models import Finding

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Finding._meta.db_table)}")


def _evidence_index(head: dict[str, Any]) -> dict[str, int]:
    """Evidence path -> its position in findings.json's `evidence` (the thumbnails' key)."""
    return {str(ev.get("path")): i for i, ev in enumerate(head.get("evidence") or [])}


def _finish_scan(scan: Any, doc: dict[str, Any], digest: str, exhibit: Any, user: str) -> None:
    from django.utils import timezone

    from fellwatch.web.records.models import (
        CustodyAction,
        CustodyEntry,
        Evidence,
        custody_reason,
    )

    scan.findings_sha256 = digest
    scan.tool_version = str(doc["tool"].get("version", ""))
    scan.settings = doc.get("settings", {})
    scan.summary = doc["summary"]
    scan.hashsets = doc.get("hashsets", [])
    # One save: the audit log records the scan once, complete.
    scan.save(update_fields=["findings_sha256", "tool_version", "settings", "summary",
                             "hashsets", "facets"])
    now = timezone.now()
    for ev in doc["evidence"]:
        sha256 = str(ev.get("sha256") or "")
        evidence, _ = Evidence.objects.get_or_create(
            exhibit=exhibit, path=str(ev["path"]), sha256=sha256,
            defaults={"format": str(ev.get("format") or ""), "files": ev.get("files") or [],
                      "volumes": ev.get("volumes") or []},
        )
        scan.evidence.add(evidence)
        after = str(ev.get("sha256_after") or "")
        flag = "" if not after or after == sha256 else " — HASH CHANGED"
        # Saved through the chain's check (time order, nothing after a final disposal, nothing
        # on a void exhibit): a refusal undoes the whole import (see _import).
        CustodyEntry.objects.create(
            exhibit=exhibit,
            at=now,
            by=user,
            action=CustodyAction.EXAMINED,
            # A long path may be cut to fit; the flag is kept whole.
            reason=custody_reason(
                f"fellwatch scan {doc['tool'].get('version', '')} of {ev['path']}", flag),
            hash_before=sha256,
            hash_after=after,
        )


# --- counts: the same as findings.json's summary, aggregated in the database ---------------------


def finding_counts(findings: Any) -> dict[str, Any]:
    """findings.json's summary for a queryset of findings (one scan's, an exhibit's): matched,
    known_good, errors, review, carved_duplicates, candidates, by_category, counted as
    reports.findings.summarise counts them (a carved duplicate counts only as a duplicate).
    `listed` is the number of findings; `items` and `bytes` are of every item scanned and
    only findings.json's summary has them."""
    from django.db.models import Count, Q

    agg = findings.aggregate(
        listed=Count("id"),
        carved_duplicates=Count("id", filter=Q(carved_duplicate=True)),
        matched=Count("id", filter=Q(carved_duplicate=False, known_bad=True)),
        known_good=Count("id", filter=Q(carved_duplicate=False, known_good=True)),
        errors=Count("id", filter=Q(carved_duplicate=False, error__isnull=False)),
        review=Count("id", filter=Q(carved_duplicate=False, review=True)),
        candidates=Count("id", filter=Q(carved_duplicate=False, has_candidates=True,
                                        known_bad=False)),
    )
    by_category: dict[str, int] = {}
    rows = (findings.filter(carved_duplicate=False, known_bad=True)
            .values_list("categories").annotate(n=Count("id")).order_by())
    for cats, n in rows:
        for cat in str(cats).split(";"):
            by_category[cat] = by_category.get(cat, 0) + n
    agg["by_category"] = dict(sorted(by_category.items()))
    return agg


def summary_agrees(scan: Any, counts: dict[str, Any]) -> bool:
    """The database's counts of a scan equal its findings.json summary."""
    summary = scan.summary or {}
    keys = ("matched", "known_good", "errors", "review", "carved_duplicates", "candidates",
            "by_category")
    return all(summary.get(k, 0 if k != "by_category" else {}) == counts[k] for k in keys)


def category_counts(scan_or_findings: Any) -> dict[str, int]:
    """Findings per label for the exhibit page: each hash-set category, then the rest; a carved
    copy of a named file is counted once, as a carved duplicate (as findings.json does)."""
    findings = getattr(scan_or_findings, "findings", None)
    qs = findings.all() if findings is not None else scan_or_findings
    c = finding_counts(qs)
    counts: dict[str, int] = dict(c["by_category"])
    for label, key in (("error", "errors"), ("known good", "known_good"),
                       ("needs review", "review"), ("carved duplicates", "carved_duplicates")):
        if c[key]:
            counts[label] = c[key]
    return dict(sorted(counts.items()))
