"""Category labels: configuration, not code.

A hash set carries its own category values: Project VIC numbers (0 non-pertinent, 1 CAM,
2 exploitive/age-difficult, 3 CGI/animation, 4 comparison) or UK categories A/B/C. The default
map from value to display label is `categories.json` in this package; a unit overrides or adds
labels with a JSON object `{"value": "label", …}` (`--category-map FILE`). The map in force is
stored with each imported set, so a set's labels do not change under a scan.

Every entry of a known-good set (NSRL) is labelled "known-good".
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from fellwatch.hashsets.base import HashSetError, SetKind
from fellwatch.jsonfile import read_json

KNOWN_GOOD = "known-good"


def default_map() -> dict[str, str]:
    text = resources.files("fellwatch.hashsets").joinpath("categories.json").read_text("utf-8")
    return _checked(json.loads(text), "categories.json")


def load_map(path: Path) -> dict[str, str]:
    """A category map from a JSON file, checked: an object of strings to strings."""
    return _checked(read_json(path, "category map", HashSetError), path.name)


def effective_map(kind: SetKind, override: dict[str, str] | None) -> dict[str, str]:
    """The map stored with a set: the defaults with the override on top (none for known-good)."""
    if kind == "known-good":
        return {}
    return {**default_map(), **(override or {})}


def label(kind: str, category_map: dict[str, str], category: str | None) -> str | None:
    """The display label of one entry's category; an unmapped value shows as itself."""
    if kind == "known-good":
        return KNOWN_GOOD
    if category is None:
        return None
    found = category_map.get(category)
    if found is None:
        found = category_map.get(category.upper(), category)
    return found


def _checked(data: object, label_: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise HashSetError(
            f'{label_}: a category map must be a JSON object of strings, e.g. {{"1": "CAM"}}'
        )
    return dict(data)
