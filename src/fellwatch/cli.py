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



# --- web: the unit's records (owned by the web package; handlers import Django lazily) --------


def _register_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the records web app (migrates the store first)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-migrate", action="store_true", help="do not migrate the store first")
    p.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=not args.no_migrate)
    from django.core.management import call_command

    # Django's own server; --insecure only means "serve the static files" without DEBUG.
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, insecure_serving=True)
    return 0


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="the records' audit log")
    asub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = asub.add_parser("verify", help="check the hash chain; name the first broken entry")
    v.set_defaults(handler=_cmd_audit_verify)


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.audit.log import verify

    verdict = verify()
    if verdict.ok:
        sys.stdout.write(f"audit log intact: {verdict.entries} entries\n")
        return 0
    sys.stderr.write(f"audit log broken at entry #{verdict.broken_seq}: {verdict.reason} "
          f"({verdict.entries} entries before it hold)\n")
    return 1


def _register_records(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("records", help="the unit's records: imports and management")
    rsub = p.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    s = rsub.add_parser("import-scan", help="record a scan output directory against an exhibit")
    s.add_argument("out_dir", metavar="DIR")
    s.add_argument("--case", required=True, metavar="REF")
    s.add_argument("--exhibit", required=True, metavar="REF")
    s.add_argument("--user", default=None, help="who imports (for the audit log)")
    s.set_defaults(handler=_cmd_records_import_scan)
    c = rsub.add_parser("import-csv", help="import historical records or exhibits from CSV")
    c.add_argument("kind", choices=["operations", "cases", "warrants", "arrests", "exhibits",
                                    "custody", "safeguarding"])
    c.add_argument("csv_file", metavar="FILE")
    c.add_argument("--unit", required=True, help="the unit the records belong to")
    c.add_argument("--user", default=None, help="who imports (for the audit log)")
    c.set_defaults(handler=_cmd_records_import_csv)
    u = rsub.add_parser("add-user", help="add an officer: a user with a role in a unit")
    u.add_argument("username")
    u.add_argument("--role", required=True,
                   choices=["examiner", "reviewer", "supervisor", "auditor", "administrator"])
    u.add_argument("--unit", required=True)
    u.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (else it is asked for)")
    u.set_defaults(handler=_cmd_records_add_user)
    d = rsub.add_parser("seed-demo", help="fill the store with a year of invented records")
    d.add_argument("--unit", default="Cyber Unit North")
    d.add_argument("--year", type=int, default=2025)
    d.set_defaults(handler=_cmd_records_seed_demo)
    m = rsub.add_parser("manage", help="run a Django management command (e.g. createsuperuser)")
    m.add_argument("manage_args", nargs=argparse.REMAINDER)
    m.set_defaults(handler=_cmd_records_manage)


def _cmd_records_import_scan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fellwatch.web.scans import ScanImportError, import_scan_dir

    try:
        n = import_scan_dir(Path(args.out_dir), args.case, args.exhibit, args.user)
    except ScanImportError as exc:
        sys.stderr.write(f"fellwatch records import-scan: {exc}\n")
        return 1
    sys.stdout.write(f"recorded {n} findings against exhibit {args.exhibit} "
                     f"of case {args.case}\n")
    return 0


def _cmd_records_import_csv(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.csv_import import CsvImportError, import_csv

    try:
        n = import_csv(args.kind, Path(args.csv_file), unit=args.unit, user=args.user)
    except CsvImportError as exc:
        sys.stderr.write(f"fellwatch records import-csv: {exc}\n")
        return 1
    sys.stdout.write(f"imported {n} {args.kind}\n")
    return 0


def _cmd_records_add_user(args: argparse.Namespace) -> int:
    import getpass

    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.people import AddUserError, add_officer

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            sys.stderr.write("fellwatch records add-user: the passwords differ\n")
            return 1
    try:
        add_officer(args.username, password, args.role, args.unit)
    except AddUserError as exc:
        sys.stderr.write(f"fellwatch records add-user: {exc}\n")
        return 1
    sys.stdout.write(f"added {args.username} ({args.role}, {args.unit})\n")
    return 0


def _cmd_records_seed_demo(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.synthetic import YearPlan, seed_year

    plan = seed_year(args.unit, YearPlan(year=args.year), seed=args.year)
    sys.stdout.write(f"seeded {args.year}: {plan.arrests} arrests, {plan.warrants_executed} "
                     f"warrants executed, {plan.children_safeguarded} children safeguarded\n")
    return 0


def _cmd_records_manage(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fellwatch records manage", *args.manage_args])
    return 0


_COMMANDS.extend([_register_serve, _register_audit, _register_records])


if __name__ == "__main__":
    sys.exit(main())
