"""docs/hashsets.md names every format, command and store entry point: undocumented fails."""

from __future__ import annotations

from pathlib import Path

from fellwatch.hashsets import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "hashsets.md"


def test_every_format_and_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in registry.FORMATS.names():
        assert f"| `{name}` |" in text, f"format {name} missing from {DOC.name}"
    for phrase in (
        "fellwatch hashset import FILE",
        "fellwatch hashset list",
        "--category-map FILE",
        "PhotoDNA is not kept",
        "FELLWATCH_DATA_DIR",
        "store.resolve(",
        "matcher.match_many(",
        "store.pdq_hashes(",
        "store.lookup(",
    ):
        assert phrase in text, f"{phrase!r} missing from {DOC.name}"
