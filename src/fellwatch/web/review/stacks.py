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


FAST_MAX_DISTANCE = 15  # 16 chunks of 16 bits: codes within 15 bits share one chunk


def near_pairs(codes: np.ndarray, distance: int) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of codes within `distance` bits: all pairs of a case at once.

    Up to 15 bits, by the pigeonhole rule: cut into 16 chunks of 16 bits, two codes that close
    are equal in at least one chunk, so only codes sharing a chunk value are compared (a sort
    per chunk; 100 000 codes in well under a second). Further than that, the PDQ index's range
    search of every code (all pairs: minutes at 100 000)."""
    from fellwatch.matching.pdq_index import PdqIndex

    n = codes.shape[0]
    if distance > FAST_MAX_DISTANCE:
        result = PdqIndex(codes).search(codes, threshold=distance)
        qidx = np.repeat(np.arange(n), np.diff(result.lims))
        return [(int(q), int(h)) for q, h in zip(qidx.tolist(), result.ids.tolist(), strict=True)
                if q < h]
    words = codes.view(">u2")  # [n, 16]
    as64 = np.ascontiguousarray(codes).view(np.uint64)  # [n, 4]
    firsts, seconds = [], []
    for chunk in range(16):
        order = np.argsort(words[:, chunk], kind="stable")
        col = words[order, chunk]
        # Codes equal in this chunk sit side by side once sorted: pair each with the next k-th
        # for k = 1, 2, ... while any run is that long (vectorised; runs are short).
        k = 1
        while k < n:
            same = np.flatnonzero(col[:-k] == col[k:])
            if same.size == 0:
                break
            firsts.append(order[same])
            seconds.append(order[same + k])
            k += 1
    if not firsts:
        return []
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    close = np.bitwise_count(as64[a] ^ as64[b]).sum(axis=1) <= distance
    lo, hi = np.minimum(a[close], b[close]), np.maximum(a[close], b[close])
    pairs = np.unique(np.stack([lo, hi], axis=1), axis=0) if lo.size else lo.reshape(0, 2)
    return [(int(i), int(j)) for i, j in pairs.tolist()]


def cross_pairs(left: np.ndarray, right: np.ndarray,
                distance: int) -> list[tuple[int, int, int]]:
    """(i, j, bits) for left[i] and right[j] within `distance` bits (the seen-before library
    against a new scan's pictures, a VICS file against a case's): one near_pairs over both."""
    n = left.shape[0]
    if n == 0 or right.shape[0] == 0:
        return []
    both = np.concatenate([left, right])
    as64 = both.view(np.uint64)
    out = []
    for i, j in near_pairs(both, distance):
        if i < n <= j:
            out.append((i, j - n, int(np.bitwise_count(as64[i] ^ as64[j]).sum())))
    return out


def group(rows: list[tuple[int, str, str, int | None]], distance: int) -> dict[int, list[int]]:
    """Components of (id, sha1, pdq, quality) rows joined by equal SHA-1 or PDQ within
    `distance`; only components of two or more, keyed by their position of first member."""
    from fellwatch.matching.pdq_index import hex_to_codes

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
        for q, hit in near_pairs(hex_to_codes(pdq_hex), distance):
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
    from django.db import connection

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
    changed = [(wanted.get(r[0]), r[0]) for r in rows if wanted.get(r[0]) != r[5]]
    if changed:
        # Plain executemany: the ORM's CASE WHEN of 500 ids cost more than the grouping itself.
        table = connection.ops.quote_name(Finding._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET stack = %s WHERE id = %s", changed)
    return len(comps)
