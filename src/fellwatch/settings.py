"""Settings read from the environment, each declared once: name, default and help.

Only what more than one package needs lives here. The CLI and the docs take their wording from
`SETTINGS`, so a setting is never described in two places.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Setting:
    env: str
    default: str
    help: str


DATA_DIR = Setting(
    env="FELLWATCH_DATA_DIR",
    default="~/.local/share/fellwatch",
    help="where Fellwatch keeps its own data: imported hash sets, the default store",
)

SETTINGS: tuple[Setting, ...] = (DATA_DIR,)


def data_dir() -> Path:
    """The data directory: $FELLWATCH_DATA_DIR, else ~/.local/share/fellwatch (not created)."""
    value = os.environ.get(DATA_DIR.env, "").strip()
    return Path(value or DATA_DIR.default).expanduser()
