"""The packages' import rules of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fellwatch"
ENGINE = ("evidence", "signals", "hashsets", "matching", "carving", "scan", "store", "reports")

# package -> packages it must never import (directly)
FORBIDDEN = {
    "signals": ("fellwatch.evidence", "fellwatch.hashsets", "fellwatch.scan"),
    "evidence": ("fellwatch.scan", "fellwatch.matching", "fellwatch.hashsets", "fellwatch.store"),
    "matching": ("fellwatch.evidence", "fellwatch.scan"),
    "hashsets": ("fellwatch.evidence", "fellwatch.scan"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_never_imports_django() -> None:
    for package in ENGINE:
        for path in (SRC / package).rglob("*.py"):
            bad = {n for n in _imports(path) if n.split(".")[0] == "django"}
            assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_layer_rules() -> None:
    for package, forbidden in FORBIDDEN.items():
        for path in (SRC / package).rglob("*.py"):
            bad = {n for n in _imports(path) if n.startswith(forbidden)}
            assert not bad, f"{path.relative_to(SRC)} imports {bad}"
