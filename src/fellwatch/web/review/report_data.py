"""The exhibit report's numbers, handed to the reports package's writer (HTML and PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write(case: Any, exhibit: Any, out_dir: Path) -> list[Path]:
    raise NotImplementedError("the exhibit report writer (reports.exhibit_report) is not here")
