"""VICS 2.0 JSON for CAID / Project VIC: the graded and pre-graded media of a case.

The shape is the `#Cases` document the project's own reader (`fellwatch.hashsets.vics`) takes::

    {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/
                        Default/$metadata#Cases",
     "value": [{"CaseID": "OP-1", "CaseNumber": "OP-1", "SourceApplicationName": "fellwatch",
                "SourceApplicationVersion": "0.3.0", "Media": [MEDIA, …]}]}

    MEDIA = {"MediaID": 1, "Category": 1, "MD5": "…", "SHA1": "…", "MediaSize": 1234,
             "IsPrecategorized": false,
             "AlternativeHashes": [{"HashName": "PDQ", "HashValue": "…"}],
             "MediaFiles": [{"FilePath": "JD/1/p1/DCIM/a.jpg", "Deleted": false,
                             "Unallocated": false}]}

`Category` is a Project VIC number (0 non-pertinent, 1 CAM, 2 exploitive/age-difficult, 3
CGI/animation, 4 comparison) reached through the grade map (`grade_map.json`, configuration:
`load_grade_map`). A grade (UK A/B/C, N not indecent, X not relevant) or a hash set's own
category (a Project VIC number or its label) is a key of that map.

Written streaming (one media object at a time, never the whole document in memory) and
deterministic: the media must come in ascending (MD5, SHA-1) order, one per picture, and
each one's files are sorted by path; MediaID counts from 1 in that order. No time is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from fellwatch import TOOL_NAME, __version__
from fellwatch.errors import FellwatchError
from fellwatch.jsonfile import read_json
from fellwatch.store.private import FILE_MODE

VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Cases"
)
PROJECT_VIC_CATEGORIES = range(0, 5)


class VicsExportError(FellwatchError):
    """The export cannot be written as asked (unmapped grade, media out of order); one line."""


@dataclass(frozen=True, slots=True)
class VicsFile:
    """One place a picture was found: its display path (with the exhibit), and whether it was
    deleted (a file-system name no longer allocated) or carved from unallocated space."""

    path: str
    deleted: bool = False
    unallocated: bool = False


@dataclass(frozen=True, slots=True)
class VicsMedia:
    """One picture or video: its digests, its grade and every file it was found as.

    `grade` is a key of the grade map: "A", "B", "C", "N", "X", or a set's category ("1",
    "CAM"). `precategorized`: the category came from a hash set (a known picture), not from
    a person grading it here."""

    md5: str
    sha1: str
    size: int
    grade: str
    pdq: str | None = None
    precategorized: bool = False
    files: tuple[VicsFile, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class VicsCase:
    case_id: str
    case_number: str | None = None


def default_grade_map() -> dict[str, int]:
    text = resources.files("fellwatch.reports").joinpath("grade_map.json").read_text("utf-8")
    return _checked(json.loads(text), "grade_map.json")


def load_grade_map(path: Path | None = None) -> dict[str, int]:
    """The grade → Project VIC map: the defaults, with a unit's file (same shape) on top."""
    grade_map = default_grade_map()
    if path is None:
        return grade_map
    data = read_json(path, "grade map", VicsExportError)
    return {**grade_map, **_checked(data, path.name)}


def _checked(data: object, name: str) -> dict[str, int]:
    if not isinstance(data, dict):
        raise VicsExportError(f"{name}: a grade map is a JSON object of grade to category")
    out: dict[str, int] = {}
    for key, value in data.items():
        if not isinstance(value, int) or isinstance(value, bool) or (
            value not in PROJECT_VIC_CATEGORIES
        ):
            raise VicsExportError(
                f"{name}: {key!r} maps to {value!r}, not a Project VIC category 0-4"
            )
        out[str(key)] = value
    return out


def category_of(grade: str, grade_map: Mapping[str, int]) -> int:
    """The Project VIC category of a grade; an unmapped grade is refused, never guessed."""
    found = grade_map.get(grade)
    if found is None:
        found = grade_map.get(grade.upper())
    if found is None:
        raise VicsExportError(f"grade {grade!r} is not in the grade map")
    return found


def media_json(media_id: int, media: VicsMedia, grade_map: Mapping[str, int]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "MediaID": media_id,
        "Category": category_of(media.grade, grade_map),
        "MD5": media.md5.upper(),
        "SHA1": media.sha1.upper(),
        "MediaSize": media.size,
        "IsPrecategorized": media.precategorized,
        "AlternativeHashes": (
            [{"HashName": "PDQ", "HashValue": media.pdq.lower()}] if media.pdq else []
        ),
        "MediaFiles": [
            {"FilePath": f.path, "Deleted": f.deleted, "Unallocated": f.unallocated}
            for f in sorted(media.files, key=lambda f: (f.path, f.deleted, f.unallocated))
        ],
    }
    return entry


def write_vics(
    out: TextIO,
    case: VicsCase,
    media: Iterable[VicsMedia],
    grade_map: Mapping[str, int] | None = None,
) -> int:
    """Write the VICS 2.0 document to `out`, one media object at a time. Returns how many
    media were written. Raises VicsExportError on an unmapped grade or media out of order
    (before anything past the offending media is written)."""
    grade_map = default_grade_map() if grade_map is None else grade_map
    head = {
        "CaseID": case.case_id,
        "CaseNumber": case.case_number or case.case_id,
        "SourceApplicationName": TOOL_NAME,
        "SourceApplicationVersion": __version__,
    }
    case_text = json.dumps(head, ensure_ascii=False, indent=None, sort_keys=True)
    out.write('{"@odata.context": ' + json.dumps(VICS_CONTEXT) + ',\n "value": [\n  ')
    out.write(case_text[:-1] + ', "Media": [')
    count = 0
    previous: tuple[str, str] | None = None
    for one in media:
        key = (one.md5.lower(), one.sha1.lower())
        if previous is not None and key <= previous:
            raise VicsExportError(
                f"media out of order or repeated at MD5 {one.md5}: pass one media per picture, "
                "in ascending (MD5, SHA-1) order"
            )
        previous = key
        count += 1
        text = json.dumps(media_json(count, one, grade_map), ensure_ascii=False, sort_keys=True)
        out.write(("\n   " if count == 1 else ",\n   ") + text)
    out.write("\n  ]}\n ]\n}\n" if count else "]}\n ]\n}\n")
    return count


def write_vics_file(
    path: Path, case: VicsCase, media: Iterable[VicsMedia],
    grade_map: Mapping[str, int] | None = None,
) -> int:
    """`write_vics` to a file, owner-only (0600): the export names every picture of a case.
    Written beside and renamed, so a failed export leaves no half file under the name."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with _private(tmp) as fh:
            count = write_vics(fh, case, media, grade_map)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def _private(path: Path) -> TextIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")
