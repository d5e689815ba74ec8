"""The `fellwatch` command: thin, one function per subcommand; the logic lives in the packages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

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


# -- fellwatch hashset ---------------------------------------------------------------------------
# Owned by the hash-set work; kept apart so that merges with other subcommands stay simple.


def _register_hashset(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from fellwatch import settings

    parser = sub.add_parser(
        "hashset",
        help="import and list hash sets (VICS JSON, hashdeep, md5sum lists, NSRL, PDQ lists)",
        description=f"Hash sets are kept under ${settings.DATA_DIR.env} "
        f"(default {settings.DATA_DIR.default})/hashsets.",
    )
    actions = parser.add_subparsers(dest="hashset_command", required=True, metavar="ACTION")

    imp = actions.add_parser("import", help="import a hash-set file (format detected)")
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.add_argument("--name", help="the set's name (default: the file name without extension)")
    imp.add_argument(
        "--kind",
        choices=["known-bad", "known-good"],
        help="default: known-good for NSRL, known-bad for every other format",
    )
    imp.add_argument(
        "--category-map",
        metavar="FILE",
        type=Path,
        help='JSON object of category value to label, e.g. {"1": "CAM"}, over the defaults',
    )
    imp.set_defaults(handler=_hashset_import)

    lst = actions.add_parser("list", help="list the imported hash sets")
    lst.set_defaults(handler=_hashset_list)


def _hashset_say(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


def _hashset_import(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from fellwatch.hashsets import categories
    from fellwatch.hashsets.base import HashSetError
    from fellwatch.hashsets.store import HashSetStore

    started = time.perf_counter()
    try:
        with HashSetStore.default() as store:
            cmap = categories.load_map(args.category_map) if args.category_map else None
            name = args.name if args.name is not None else args.file.stem
            before = store.find(name)
            with tqdm(unit=" entries", unit_scale=True, file=sys.stderr, disable=None) as bar:
                info = store.import_file(
                    args.file,
                    name=args.name,
                    kind=args.kind,
                    category_map=cmap,
                    progress=bar.update,
                )
    except HashSetError as exc:
        _hashset_say(f"fellwatch: {exc}", sys.stderr)
        return 2
    if before == info:
        _hashset_say(f"{info.name}: already imported from this file, unchanged")
    elif before is not None:
        _hashset_say(f"{info.name}: new version replaces {before.version}")
    rows = [
        ("name", info.name),
        ("format", info.format),
        ("kind", info.kind),
        (
            "entries",
            f"{info.entries} ("
            + ", ".join(f"{kind} {count}" for kind, count in sorted(info.counts.items()))
            + ")",
        ),
        ("version", info.version),
        ("time", f"{time.perf_counter() - started:.1f} s"),
    ]
    rows += [("skipped", f"{count} {reason}") for reason, count in info.skipped.items()]
    for label, value in rows:
        _hashset_say(f"{label:<9}{value}")
    return 0


def _hashset_list(args: argparse.Namespace) -> int:
    from fellwatch.hashsets.base import HashSetError
    from fellwatch.hashsets.store import HashSetStore

    try:
        with HashSetStore.default() as store:
            infos = store.list()
    except HashSetError as exc:
        _hashset_say(f"fellwatch: {exc}", sys.stderr)
        return 2
    if not infos:
        _hashset_say("no hash sets imported yet (fellwatch hashset import FILE)")
        return 0
    header = ("NAME", "KIND", "FORMAT", "ENTRIES", "KINDS", "VERSION")
    rows = [
        (
            i.name,
            i.kind,
            i.format,
            str(i.entries),
            ",".join(sorted(i.counts)),
            i.version,
        )
        for i in infos
    ]
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]
    for row in [header, *rows]:
        _hashset_say(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


_COMMANDS.append(_register_hashset)


if __name__ == "__main__":
    sys.exit(main())
