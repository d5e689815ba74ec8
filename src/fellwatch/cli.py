"""The `fellwatch` command: thin, one function per subcommand; the logic lives in the packages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from fellwatch import __version__

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fellwatch",
        description="Triage seized-device evidence for known material by hash, never by looking.",
    )
    parser.add_argument("--version", action="version", version=f"fellwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _COMMANDS:
        register(sub)
    return parser


_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
