"""The gallery's query: what needs a person first, filters, sorts and pages, in the database.

Every filter is a column of Finding (copied from the item at import) and the sorts follow the
indexes that start with (case, needs_person), so a page of a case of 100 000 findings is one
indexed query and one count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case as SqlCase
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import QueryDict

from fellwatch.web.records.models import Case, Finding, Scan
from fellwatch.web.review.pictures import thumbnail_failures

PAGE = 60
SORTS = {
    "folder": ("folder", "path", "id"),
    "size": ("size", "id"),
    "date": ("date", "id"),
}
SHOWS = ("person", "graded", "known", "all")
FLAGS = ("deleted", "carved", "archive", "gps", "video", "picture", "candidate")


@dataclass(frozen=True)
class Query:
    show: str = "person"
    sort: str = "folder"
    page: int = 1
    exhibit: int | None = None
    origin: str = ""
    category: str = ""
    hashset: str = ""
    flags: frozenset[str] = frozenset()

    @classmethod
    def from_params(cls, params: QueryDict | dict[str, Any]) -> Query:
        def one(name: str) -> str:
            value = params.get(name, "")
            return str(value).strip() if value is not None else ""

        page = one("page")
        exhibit = one("exhibit")
        return cls(
            show=one("show") if one("show") in SHOWS else "person",
            sort=one("sort") if one("sort") in SORTS else "folder",
            page=max(1, int(page)) if page.isdigit() else 1,
            exhibit=int(exhibit) if exhibit.isdigit() else None,
            origin=one("origin")[:16],
            category=one("category")[:32],
            hashset=one("hashset")[:100],
            flags=frozenset(f for f in FLAGS if one(f) in ("1", "on", "true")),
        )

    def params(self, **change: Any) -> str:
        """This query as URL parameters, with `change` applied (for the page's links)."""
        from urllib.parse import urlencode

        values: dict[str, Any] = {"show": self.show, "sort": self.sort, "page": self.page,
                                  "exhibit": self.exhibit or "", "origin": self.origin,
                                  "category": self.category, "hashset": self.hashset}
        values.update({f: "1" for f in self.flags})
        values.update(change)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def member_condition(q: Query) -> Q:
    """The gallery's filter on one finding, stacks aside: whether this finding matches."""
    if q.show == "person":
        cond = Q(needs_person=True, grade="")
    elif q.show == "graded":
        cond = Q(needs_person=True) & ~Q(grade="")
    elif q.show == "known":
        cond = Q(needs_person=False, known_bad=True, carved_duplicate=False)
    else:
        cond = Q(needs_person=True) | Q(needs_person=False, media__gt="")
    if q.exhibit:
        cond &= Q(scan__exhibit_id=q.exhibit)
    if q.origin:
        cond &= Q(origin=q.origin)
    if q.category:
        cond &= Q(category=q.category) | Q(candidate_category=q.category)
    if q.hashset:
        cond &= Q(hashsets__contains=f";{q.hashset};")
    flag_filters = {
        "deleted": Q(allocated=False), "carved": Q(origin="carved"),
        "archive": Q(in_archive=True), "gps": Q(has_gps=True), "video": Q(media="video"),
        "picture": Q(media="picture"), "candidate": Q(has_candidates=True),
    }
    for flag in sorted(q.flags):
        cond &= flag_filters[flag]
    return cond


def condition(q: Query) -> Q:
    """The gallery's filter as one condition: the findings that match, one tile per stack.

    A stack is shown when any of its members matches, as one tile: its named member when that
    one matches (the one restack chose for a person to see), else its first matching member in
    the page's order. Testing only the named member hid a whole stack whenever a filter
    (deleted, an exhibit, graded) left that one out."""
    member = member_condition(q)
    # The member a stack shows: the named one first (id = stack), then in the page's order.
    # Asked only of a stacked finding that matches and is not the named one (the ORs stop
    # before it). Ordering by the sort's columns also keeps SQLite (which plans without
    # statistics) on the (case, stack) index: ordered by id alone, the subquery was "covered"
    # by finding_review_state and SQLite scanned the case's entries of it for every row
    # (6 s at 40 000 findings).
    shown = (Finding.objects.filter(case=OuterRef("case"), stack=OuterRef("stack"))
             .filter(member)
             .order_by(SqlCase(When(id=F("stack"), then=Value(0)), default=Value(1)),
                       *SORTS[q.sort])
             .values("id")[:1])
    return member & (Q(stack__isnull=True) | Q(id=F("stack")) | Q(id=Subquery(shown)))


def total_of(q: Query) -> dict[str, Count]:
    """The query's total as aggregates: each matching finding alone, and each stack with a
    matching member once (what `condition` shows, counted without asking its subquery of
    every stacked finding of the case)."""
    member = member_condition(q)
    return {"alone": Count("id", filter=member & Q(stack__isnull=True)),
            "stacks": Count("stack", distinct=True, filter=member & Q(stack__isnull=False))}


def filtered(case: Case, q: Query) -> QuerySet[Finding]:
    return Finding.objects.filter(case=case).filter(condition(q))


COUNTS = {
    "to_grade": Q(needs_person=True, grade=""),
    "graded": Q(needs_person=True) & ~Q(grade=""),
    "candidates": Q(has_candidates=True, grade=""),
    "pregraded": Q(needs_person=False, known_bad=True, carved_duplicate=False),
}


def counts_of(case: Case, q: Query | None = None) -> dict[str, int]:
    """The gallery's counts (and the query's total), in one pass over the case's findings."""
    qs = Finding.objects.filter(case=case)
    if q is not None and q.exhibit:
        qs = qs.filter(scan__exhibit_id=q.exhibit)
    extra = total_of(q) if q is not None else {}
    counts = dict(qs.aggregate(**{k: Count("id", filter=v) for k, v in COUNTS.items()},
                               **extra))
    if q is not None:
        counts["total"] = counts.pop("alone") + counts.pop("stacks")
    return counts


TILE_FIELDS = ("id", "path", "size", "media", "origin", "allocated", "in_archive", "grade",
               "pregrade", "suggestion", "suggestion_source", "category", "candidate_category",
               "candidates", "stack", "has_gps", "date", "content_type", "carved_duplicate_of")
# Where a tile's thumbnail lives and the item's error (to say why there is none); not sent
# with the tile.
WHERE_FIELDS = ("scan_id", "evidence_index", "key", "error")


def page_of(case: Case, q: Query,
            counts: dict[str, int] | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of tiles (plain dicts, as the JSON API sends them) and the total (taken from
    `counts_of`'s when given)."""
    qs = filtered(case, q)
    if counts is None:
        totals = Finding.objects.filter(case=case).aggregate(**total_of(q))
        total = totals["alone"] + totals["stacks"]
    else:
        total = counts["total"]
    start = (q.page - 1) * PAGE
    rows = list(qs.order_by(*SORTS[q.sort]).values(*TILE_FIELDS, *WHERE_FIELDS)
                [start:start + PAGE])
    stacks = [r["stack"] for r in rows if r["stack"] is not None]
    sizes, matching = _stack_counts(case, q, stacks)
    failures = _thumbnail_failures(rows)
    base = f"/cases/{case.pk}/review/findings/"
    for r in rows:
        where = (r.pop("scan_id"), r.pop("evidence_index"), r.pop("key"))
        r.pop("error")
        r["thumbnail_error"] = failures.get(where, "")
        # Formatted, not reversed: 60 tiles x 3 links were a third of the page's time.
        r["detail_url"] = f"{base}{r['id']}/"
        r["thumbnail_url"] = f"{base}{r['id']}/thumbnail/"
        r["reveal_url"] = f"{base}{r['id']}/reveal/"
        r["original_url"] = f"{base}{r['id']}/original/"
        r["stack_size"] = sizes.get(r["stack"], 1)
        # How many of the stack's members the filter matches ("2 of 5 match" on the tile).
        r["stack_matching"] = matching.get(r["stack"], 1)
        cands = r.pop("candidates") or []
        r["candidate_reason"] = str(cands[0].get("reason") or "") if cands else ""
        r["candidate_distance"] = cands[0].get("distance") if cands else None
        r["candidate_quality"] = cands[0].get("quality") if cands else None
    return rows, total


def _stack_counts(case: Case, q: Query,
                  stacks: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Members of each of `stacks` and how many of them match the query (two grouped counts
    over the page's stacks' members only)."""
    if not stacks:
        return {}, {}
    members = Finding.objects.filter(case=case, stack__in=stacks)
    sizes = dict(members.values_list("stack").annotate(n=Count("id")).order_by())
    matching = dict(members.filter(member_condition(q)).values_list("stack")
                    .annotate(n=Count("id")).order_by())
    return sizes, matching


def _thumbnail_failures(rows: list[dict[str, Any]]) -> dict[tuple[int, int, str], str]:
    """(scan, evidence index, key) -> why the scan made no thumbnail, for the page's pictures
    and videos whose thumbnail failed or that have an error and no thumbnail: one query per
    scan and evidence on the page (a page holds one or two; a second when some have an
    error), read from the scans' own stores where the thumbnails live."""
    wanted: dict[tuple[int, int], list[str]] = {}
    errors: dict[tuple[int, int], dict[str, str]] = {}
    for r in rows:
        if r["media"]:
            where = (r["scan_id"], r["evidence_index"])
            wanted.setdefault(where, []).append(r["key"])
            if r["error"]:
                errors.setdefault(where, {})[r["key"]] = r["error"]
    if not wanted:
        return {}
    out_dirs = dict(Scan.objects.filter(id__in={s for s, _ in wanted})
                    .values_list("id", "out_dir"))
    found: dict[tuple[int, int, str], str] = {}
    for (scan, evidence), keys in sorted(wanted.items()):
        try:
            failed = thumbnail_failures(out_dirs[scan], evidence, keys,
                                        errors.get((scan, evidence)))
        except Exception:  # a scan folder moved: its tiles' pictures say so themselves
            continue
        found.update({(scan, evidence, key): why for key, why in failed.items()})
    return found
