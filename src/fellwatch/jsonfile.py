"""A unit's JSON configuration file (a category map, a grade map), read with one refusal
wording: what cannot be read, or is not JSON, is said with the file's name."""

from __future__ import annotations

import json
from pathlib import Path

from fellwatch.errors import FellwatchError


def read_json(path: Path, what: str, error: type[FellwatchError]) -> object:
    """The JSON value in `path` (a BOM allowed); `error` names `what` the file should be."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path.name}: {what} is not valid JSON: {exc}") from None
