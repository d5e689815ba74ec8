"""Stacks: copies of one picture in a case (the same SHA-1, or PDQ within the stack distance)
are shown once and graded together. A stack is named by its first member's id; a finding
alone has no stack (NULL), so a case with no copies costs no writes."""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_PDQ_QUALITY = 50  # below it PDQ hashes of unrelated pictures come close (PDQ's own floor)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group(rows: list[tuple[int, str, str, int | None]], distance: int) -> dict[int, list[int]]:
    """Components of (id, sha1, pdq, quality) rows joined by equal SHA-1 or PDQ within
    `distance`; only components of two or more, keyed by their position of first member."""
    from fellwatch.matching.pdq_index import PdqIndex, hex_to_codes

    uf = _Union(len(rows))
    first_of_sha1: dict[str, int] = {}
    pdq_rows: list[int] = []
    pdq_hex: list[str] = []
    seen_pdq: dict[str, int] = {}
    for i, (_, sha1, pdq, quality) in enumerate(rows):
        if sha1:
            if sha1 in first_of_sha1:
                uf.join(first_of_sha1[sha1], i)
            else:
                first_of_sha1[sha1] = i
        if len(pdq) == 64 and (quality or 0) >= MIN_PDQ_QUALITY:
            if pdq in seen_pdq:
                uf.join(seen_pdq[pdq], i)
            else:
                seen_pdq[pdq] = i
                pdq_rows.append(i)
                pdq_hex.append(pdq)
    if len(pdq_hex) > 1 and distance > 0:
        codes = hex_to_codes(pdq_hex)
        result = PdqIndex(codes).search(codes, threshold=distance)
        qidx = np.repeat(np.arange(len(pdq_hex)), np.diff(result.lims))
        for q, hit in zip(qidx.tolist(), result.ids.tolist(), strict=True):
            if q != hit:
                uf.join(pdq_rows[q], pdq_rows[hit])
    members: dict[int, list[int]] = {}
    for i in range(len(rows)):
        members.setdefault(uf.find(i), []).append(i)
    return {root: m for root, m in members.items() if len(m) > 1}


def restack(case_id: int) -> int:
    """Recompute the stacks of a case's pictures and videos; returns how many stacks.

    A stack's name is the id of a member that needs a person (else its first member), so the
    tile the gallery shows for it is one the examiner has to see anyway."""
    from django.conf import settings
    from django.db.models import BigIntegerField, Case, Value, When

    from fellwatch.web.records.models import Finding

    findings = Finding.objects.filter(case_id=case_id).exclude(media="").order_by("id")
    rows: list[Any] = list(findings.values_list("id", "sha1", "pdq", "pdq_quality",
                                                "needs_person", "stack"))
    comps = group([(r[0], r[1], r[2], r[3]) for r in rows], settings.REVIEW_STACK_DISTANCE)
    wanted: dict[int, int] = {}
    for positions in comps.values():
        ids = [rows[p][0] for p in positions]
        person = [rows[p][0] for p in positions if rows[p][4]]
        top = min(person) if person else min(ids)
        for i in ids:
            wanted[i] = top
    changed = [(r[0], wanted.get(r[0])) for r in rows if wanted.get(r[0]) != r[5]]
    # One UPDATE per 500 findings whatever the number of stacks (a CASE on the id).
    for a in range(0, len(changed), 500):
        part = changed[a:a + 500]
        Finding.objects.filter(id__in=[i for i, _ in part]).update(stack=Case(
            *[When(id=i, then=Value(s)) for i, s in part], default=None,
            output_field=BigIntegerField()))
    return len(comps)
