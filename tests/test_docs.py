"""Docs that must match the code: every setting and every command is documented."""

from pathlib import Path

from fellwatch.cli import build_parser
from fellwatch.settings import describe_settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text()
    for s in describe_settings():
        assert f"`--{s['name'].replace('_', '-')}`" in text, s["name"]
        assert f"`{s['env']}`" in text, s["env"]


def test_every_command_is_documented():
    text = (DOCS / "cli.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        assert f"fellwatch {name}" in text, name


def test_settings_doc_is_generated_from_the_declarations():
    from fellwatch.settings import settings_markdown

    assert (DOCS / "settings.md").read_text() == settings_markdown()


def test_exit_codes_are_documented():
    from fellwatch.errors import EXIT_CODE_HELP, ExitCode

    text = (DOCS / "cli.md").read_text()
    assert set(EXIT_CODE_HELP) == set(ExitCode)
    for code, meaning in EXIT_CODE_HELP.items():
        assert f"| {int(code)} | {meaning} |" in text
