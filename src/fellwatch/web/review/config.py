"""The grading configuration: the grades, which are indecent, and the maps between grades and
other categories (a hash set's, a VICS file's). Configuration, not code: the built-in
`grades.json`, or the file FELLWATCH_REVIEW_GRADES names (same shape). The grade to Project
VIC map of the VICS export is the reports' own (`reports/grade_map.json`, or the file
FELLWATCH_VICS_GRADE_MAP names)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GradeMap:
    grades: dict[str, str]  # key -> label, in the order the page shows them
    indecent: tuple[str, ...]  # the UK categories a charge counts
    from_set_category: dict[str, str]  # a hash set's category label -> grade (exact matches)
    from_vics_category: dict[str, str]  # a VICS file's Category -> suggested grade


def _load(path: Path) -> GradeMap:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    grades = {str(k): str(v) for k, v in doc["grades"].items()}
    bad = [k for k in grades if len(k) != 1]
    if bad:
        raise ValueError(f"{path}: a grade is one letter (the key that gives it), not {bad}")
    out = GradeMap(
        grades=grades,
        indecent=tuple(str(g) for g in doc["indecent"]),
        from_set_category={str(k): str(v) for k, v in doc["from_set_category"].items()},
        from_vics_category={str(k): str(v) for k, v in doc["from_vics_category"].items()},
    )
    for name, values in (("indecent", out.indecent),
                         ("from_set_category", out.from_set_category.values()),
                         ("from_vics_category", out.from_vics_category.values())):
        unknown = sorted(set(values) - set(grades))
        if unknown:
            raise ValueError(f"{path}: {name} names grades that are not defined: {unknown}")
    return out


@cache
def grade_map() -> GradeMap:
    from django.conf import settings

    configured = getattr(settings, "REVIEW_GRADES_FILE", "")
    return _load(Path(configured) if configured else Path(__file__).with_name("grades.json"))


def pregrade_for(exact_matches: list[dict[str, Any]]) -> str:
    """The grade an exact known-bad match brings from its set's category: the most serious of
    its matches' (grades are listed most serious first), or none if no category maps."""
    gm = grade_map()
    order = list(gm.grades)
    found = [gm.from_set_category[str(m.get("category"))] for m in exact_matches
             if str(m.get("category")) in gm.from_set_category]
    return min(found, key=order.index) if found else ""
