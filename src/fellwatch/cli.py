"""The `fellwatch` command: thin, one function per subcommand; the logic lives in the packages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from fellwatch import __version__

Handler = Callable[[argparse.Namespace], int]
SubParsers = argparse._SubParsersAction


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


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"fellwatch: {message}\n")
    return code


# --- scan -------------------------------------------------------------------------------------


def _register_scan(sub: SubParsers) -> None:
    from fellwatch.settings import describe_settings

    p = sub.add_parser("scan", help="scan evidence against hash sets")
    p.add_argument(
        "evidence", nargs="+", help="image (E01, raw, split, VHD, VMDK, QCOW2) or folder"
    )
    p.add_argument(
        "--hashset",
        action="append",
        default=[],
        metavar="FILE_OR_NAME",
        help="a hash-set file or the name of an imported set (repeatable)",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run on a Dask cluster (tcp://host:8786) or 'local' for an in-process one",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="discard a previous, interrupted scan in DIR instead of resuming it",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for s in describe_settings():
        flag = "--" + s["name"].replace("_", "-")
        if isinstance(s["default"], bool):
            p.add_argument(
                flag,
                dest=s["name"],
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{s['help']} (env {s['env']})",
            )
        else:
            p.add_argument(
                flag,
                dest=s["name"],
                type=type(s["default"]),
                default=None,
                help=f"{s['help']} (default {s['default']}, env {s['env']})",
            )
    p.set_defaults(handler=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    from fellwatch.evidence import EvidenceError
    from fellwatch.hashsets.base import HashSetError
    from fellwatch.scan.job import scan
    from fellwatch.settings import ScanSettings, describe_settings
    from fellwatch.store.scanstore import ScanStoreError

    settings = ScanSettings.from_env(
        **{s["name"]: getattr(args, s["name"]) for s in describe_settings()}
    )
    try:
        report = scan(
            args.evidence,
            args.out,
            settings,
            hashsets=args.hashset,
            cluster=args.cluster,
            restart=args.restart,
            progress=not args.quiet,
        )
    except (EvidenceError, HashSetError, ScanStoreError) as exc:
        return _fail(str(exc))
    _print_summary(report.findings, report.out_dir)
    return 0


def _register_demo(sub: SubParsers) -> None:
    p = sub.add_parser("demo", help="scan the built-in demo evidence (benign pictures)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("fellwatch-demo"),
        metavar="DIR",
        help="output folder (default ./fellwatch-demo)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from fellwatch.demo import EVIDENCE, run_demo

    sys.stdout.write(f"scanning the demo evidence {EVIDENCE.name} (benign generated pictures)\n")
    report = run_demo(args.out, progress=not args.quiet)
    _print_summary(report.findings, report.out_dir)
    return 0


def _print_summary(findings: dict[str, object], out_dir: Path) -> None:
    summary = findings["summary"]
    assert isinstance(summary, dict)
    lines = [
        f"items scanned   {summary['items']}",
        f"bytes read      {summary['bytes']}",
        f"matched         {summary['matched']}",
    ]
    for cat, n in summary["by_category"].items():
        lines.append(f"  {cat:<30} {n}")
    lines += [
        f"known-good      {summary['known_good']}",
        f"to review       {summary['review']}",
        f"errors          {summary['errors']}",
        f"report          {out_dir / 'report.html'}",
        f"findings        {out_dir / 'findings.json'}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


# -- fellwatch hashset ---------------------------------------------------------------------------
# Owned by the hash-set work; kept apart so that merges with other subcommands stay simple.


def _register_hashset(sub: SubParsers) -> None:
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


_COMMANDS: list[Callable[[SubParsers], None]] = [_register_scan, _register_demo, _register_hashset]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
