"""The `fellwatch` command: thin, one function per subcommand; the logic lives in the packages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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
            cluster=args.cluster,
            restart=args.restart,
            progress=not args.quiet,
        )
    except (EvidenceError, ScanStoreError) as exc:
        return _fail(str(exc))
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
        lines.append(f"  category {cat:<12} {n}")
    lines += [
        f"known-good      {summary['known_good']}",
        f"to review       {summary['review']}",
        f"errors          {summary['errors']}",
        f"report          {out_dir / 'report.html'}",
        f"findings        {out_dir / 'findings.json'}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


_COMMANDS: list[Callable[[SubParsers], None]] = [_register_scan]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
