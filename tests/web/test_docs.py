"""docs/web.md names every setting, command and CSV column there is."""

from __future__ import annotations

import argparse
from pathlib import Path

from fellwatch.cli import build_parser

DOC = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text()


def test_every_setting_is_documented() -> None:
    from fellwatch.web.settings import SETTINGS

    for name in SETTINGS:
        assert f"`{name}`" in DOC, name


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_web_command_is_documented() -> None:
    top = _subcommands(build_parser())
    for name in ("serve", "audit", "records"):
        sub = _subcommands(top[name])
        if not sub:
            assert f"`fellwatch {name}" in DOC, name
        for action in sub:
            assert f"`fellwatch {name} {action}" in DOC, f"{name} {action}"


def test_every_csv_kind_and_column_is_documented() -> None:
    from fellwatch.web.records.csv_import import KINDS

    for kind, (columns, _) in KINDS.items():
        line = next((row for row in DOC.splitlines() if row.startswith(f"| `{kind}` |")), None)
        assert line is not None, kind
        for column in columns:
            assert column in line, (kind, column)
