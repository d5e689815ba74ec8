"""The gallery's query: what needs a person first, filters, sorts and pages, in the database.

Every filter is a column of Finding (copied from the item at import) and the sorts follow the
indexes that start with (case, needs_person), so a page of a case of 100 000 findings is one
indexed query and one count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.http import QueryDict

from fellwatch.web.records.models import Case, Finding

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


def condition(q: Query) -> Q:
    """The gallery's filter as one condition (so its total is counted in the same pass over
    the case as the page's other counts)."""
    if q.show == "person":
        cond = Q(needs_person=True, grade="")
    elif q.show == "graded":
        cond = Q(needs_person=True) & ~Q(grade="")
    elif q.show == "known":
        cond = Q(needs_person=False, known_bad=True, carved_duplicate=False)
    else:
        cond = Q(needs_person=True) | Q(needs_person=False, media__gt="")
    # One tile per stack: a finding alone, or the stack's named member.
    cond &= Q(stack__isnull=True) | Q(stack=F("id"))
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
    extra = {"total": Count("id", filter=condition(q))} if q is not None else {}
    return dict(qs.aggregate(**{k: Count("id", filter=v) for k, v in COUNTS.items()}, **extra))


TILE_FIELDS = ("id", "path", "size", "media", "origin", "allocated", "in_archive", "grade",
               "pregrade", "suggestion", "suggestion_source", "category", "candidate_category",
               "candidates", "stack", "has_gps", "date", "content_type", "carved_duplicate_of")


def page_of(case: Case, q: Query,
            counts: dict[str, int] | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of tiles (plain dicts, as the JSON API sends them) and the total (taken from
    `counts_of`'s when given)."""
    qs = filtered(case, q)
    total = counts["total"] if counts is not None else qs.count()
    start = (q.page - 1) * PAGE
    rows = list(qs.order_by(*SORTS[q.sort]).values(*TILE_FIELDS)[start:start + PAGE])
    stacks = [r["stack"] for r in rows if r["stack"] is not None]
    sizes = dict(Finding.objects.filter(case=case, stack__in=stacks).values_list("stack")
                 .annotate(n=Count("id")).order_by()) if stacks else {}
    base = f"/cases/{case.pk}/review/findings/"
    for r in rows:
        # Formatted, not reversed: 60 tiles x 3 links were a third of the page's time.
        r["detail_url"] = f"{base}{r['id']}/"
        r["thumbnail_url"] = f"{base}{r['id']}/thumbnail/"
        r["reveal_url"] = f"{base}{r['id']}/reveal/"
        r["original_url"] = f"{base}{r['id']}/original/"
        r["stack_size"] = sizes.get(r["stack"], 1)
        cands = r.pop("candidates") or []
        r["candidate_reason"] = str(cands[0].get("reason") or "") if cands else ""
        r["candidate_distance"] = cands[0].get("distance") if cands else None
        r["candidate_quality"] = cands[0].get("quality") if cands else None
    return rows, total
