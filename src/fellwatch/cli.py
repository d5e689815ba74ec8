"""The `fellwatch` command: thin, one function per subcommand; the logic lives in the packages."""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

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


def _say(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


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
        help="a hash-set file, a folder of vPDQ files or the name of an imported set "
        "(repeatable)",
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
    p.add_argument(
        "--case", metavar="REF", help="record the scan against this case (with --exhibit)"
    )
    p.add_argument("--exhibit", metavar="REF", help="record the scan against this exhibit")
    p.add_argument("--user", help="who ran the scan, for the records' audit log")
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
    from fellwatch.errors import IncompleteError, OutputError, UsageError
    from fellwatch.settings import ScanSettings, describe_settings

    if bool(args.case) != bool(args.exhibit):
        raise UsageError("--case and --exhibit go together")
    # Everything the scan needs is checked before the first item is read.
    settings = ScanSettings.from_env(
        **{s["name"]: getattr(args, s["name"]) for s in describe_settings()}
    )
    from fellwatch.scan import executors, forkserver

    if executors.uses_local_pool(args.cluster, settings.worker_count()):
        # The workers' forkserver loads their modules (~0.25 s) on another core while this
        # process imports the rest of the scan and loads the hash sets.
        forkserver.start()
    if args.case:
        from fellwatch.web.scans import check_exhibit

        check_exhibit(args.case, args.exhibit)
    from fellwatch.scan.job import scan

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
    except OSError as exc:  # the disk filling up while the reports are written
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutputError(
            f"output disk full: cannot write {exc.filename or args.out}: {exc.strerror} (free "
            "space, then run the same command again: the scan is kept, the reports are redone)"
        ) from exc
    _print_summary(report.summary, report.out_dir)
    if not report.signed:
        _say(
            "fellwatch: manifest.json is not signed (no unit key): `fellwatch keys init` "
            "makes one",
            sys.stderr,
        )
    if report.run["incomplete_batches"]:
        reasons = "; ".join(report.run["incomplete_reasons"])
        raise IncompleteError(
            f"{report.run['incomplete_batches']} batches failed in workers ({reasons}); "
            "the findings are incomplete: run the same command again to retry them"
        )
    if args.case:
        from fellwatch.web.scans import ScanImportError, import_scan_dir

        try:
            count = import_scan_dir(report.out_dir, args.case, args.exhibit, user=args.user)
        except ScanImportError as exc:
            raise IncompleteError(
                f"scan completed, but not recorded against the exhibit: {exc}"
            ) from exc
        _say(f"recorded {count} findings against {args.exhibit} in {args.case}")
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
    _print_summary(report.summary, report.out_dir)
    return 0


def _print_summary(summary: dict[str, Any], out_dir: Path) -> None:
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
        f"candidates      {summary['candidates']}",
        f"carved copies   {summary['carved_duplicates']} (of named files, counted once)",
        f"errors          {summary['errors']}",
    ]
    if summary.get("messages"):
        lines += [
            f"messages        {summary['messages']}",
            f"conversations   {summary['conversations']}",
            f"  flagged       {summary['flagged_conversations']}",
            f"conversations   {out_dir / 'conversations.json'}",
        ]
    lines += [
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
        help="import and list hash sets (VICS JSON, hashdeep, md5sum lists, NSRL, PDQ, vPDQ)",
        description=f"Hash sets are kept under ${settings.DATA_DIR.env} "
        f"(default {settings.DATA_DIR.default})/hashsets.",
    )
    actions = parser.add_subparsers(dest="hashset_command", required=True, metavar="ACTION")

    imp = actions.add_parser(
        "import",
        help="import a hash-set file, or a folder of vPDQ files (format detected)",
    )
    imp.add_argument(
        "file",
        metavar="FILE_OR_FOLDER",
        type=Path,
        help="a hash-set file, or a folder of vPDQ files (one video per file) read as one set",
    )
    imp.add_argument(
        "--name",
        help="the set's name (default: the file name without extension, or the folder's name)",
    )
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
    imp.add_argument(
        "--format",
        metavar="FORMAT",
        help="read as this format instead of detecting it (vics, hashdeep, sumlist, nsrl, "
        "pdqlist, vpdq; see docs/hashsets.md)",
    )
    imp.set_defaults(handler=_hashset_import)

    lst = actions.add_parser("list", help="list the imported hash sets")
    lst.set_defaults(handler=_hashset_list)


def _hashset_import(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from fellwatch.errors import UsageError
    from fellwatch.hashsets import categories, registry
    from fellwatch.hashsets.store import HashSetStore, default_name

    if args.format is not None and args.format not in registry.FORMATS.names():
        known = ", ".join(sorted(registry.FORMATS.names()))
        raise UsageError(f"unknown hash-set format {args.format!r} (known: {known})")
    started = time.perf_counter()
    with HashSetStore.default() as store:
        cmap = categories.load_map(args.category_map) if args.category_map else None
        name = args.name if args.name is not None else default_name(args.file)
        before = store.find(name)
        with tqdm(unit=" entries", unit_scale=True, file=sys.stderr, disable=None) as bar:
            info = store.import_file(
                args.file,
                name=args.name,
                kind=args.kind,
                category_map=cmap,
                format=args.format,
                progress=bar.update,
            )
    if before == info:
        source = "folder" if args.file.is_dir() else "file"
        _say(f"{info.name}: already imported from this {source}, unchanged")
    elif before is not None:
        _say(f"{info.name}: new version replaces {before.version}")
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
        _say(f"{label:<9}{value}")
    return 0


def _hashset_list(args: argparse.Namespace) -> int:
    from fellwatch.hashsets.store import HashSetStore

    with HashSetStore.default() as store:
        infos = store.list()
    if not infos:
        _say("no hash sets imported yet (fellwatch hashset import FILE)")
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
        _say(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


_COMMANDS: list[Callable[[SubParsers], None]] = [_register_scan, _register_demo, _register_hashset]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Its exit status comes from the one table in `fellwatch.errors`."""
    from fellwatch.errors import ExitCode, FellwatchError, reason

    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 (ExitCode.USAGE), as argparse does
    handler: Handler = args.handler
    try:
        return handler(args)
    except FellwatchError as exc:
        _say(f"fellwatch: {reason(exc)}", sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _say("fellwatch: interrupted; a scan resumes where it stopped when run again", sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        _say(
            "fellwatch: internal error (a bug in Fellwatch; the traceback above says where)",
            sys.stderr,
        )
        return int(ExitCode.INTERNAL)


# --- web: the unit's records (owned by the web package; handlers import Django lazily) --------


def _register_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the records web app (gunicorn; --dev: Django's)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument("--certfile", default="", help="TLS certificate (PEM), with --keyfile")
    p.add_argument("--keyfile", default="", help="TLS private key (PEM), with --certfile")
    p.add_argument("--dev", action="store_true", help="Django's development server instead")
    p.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=False)
    from fellwatch.web.server import ServeOptions, check_store, run_dev, run_production

    check_store()  # ServeError (a UsageError, exit 2) names `fellwatch records migrate`
    if args.dev:
        run_dev(args.host, args.port)
    else:
        run_production(ServeOptions(host=args.host, port=args.port, workers=args.workers,
                                    threads=args.threads, certfile=args.certfile,
                                    keyfile=args.keyfile))
    return 0


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="the records' audit log")
    asub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = asub.add_parser("verify", help="check the whole hash chain; name the first broken entry")
    v.set_defaults(handler=_cmd_audit_verify)


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.errors import IncompleteError
    from fellwatch.web.audit.log import verify

    verdict = verify(full=True)
    if verdict.ok:
        _say(f"audit log intact: {verdict.entries} entries")
        return 0
    raise IncompleteError(
        f"audit log broken at entry #{verdict.broken_seq}: {verdict.reason} "
        f"({verdict.entries} entries before it hold)"
    )


def _register_records(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("records", help="the unit's records: imports and management")
    rsub = p.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    mg = rsub.add_parser("migrate", help="bring the store to this version's schema (once per "
                                         "upgrade; `serve` refuses a store that is behind)")
    mg.set_defaults(handler=_cmd_records_migrate)
    s = rsub.add_parser("import-scan", help="record a scan output directory against an exhibit")
    s.add_argument("out_dir", metavar="DIR")
    s.add_argument("--case", required=True, metavar="REF")
    s.add_argument("--exhibit", required=True, metavar="REF")
    s.add_argument("--user", default=None, help="who imports (for the audit log)")
    s.set_defaults(handler=_cmd_records_import_scan)
    c = rsub.add_parser("import-csv", help="import historical records or exhibits from CSV")
    c.add_argument(
        "kind",
        choices=[
            "operations",
            "cases",
            "warrants",
            "arrests",
            "exhibits",
            "custody",
            "safeguarding",
        ],
    )
    c.add_argument("csv_file", metavar="FILE")
    c.add_argument("--unit", required=True, help="the unit the records belong to")
    c.add_argument("--user", default=None, help="who imports (for the audit log)")
    c.set_defaults(handler=_cmd_records_import_csv)
    u = rsub.add_parser("add-user", help="add an officer: a user with a role in a unit")
    u.add_argument("username")
    u.add_argument(
        "--role",
        required=True,
        choices=["examiner", "reviewer", "supervisor", "auditor", "administrator"],
    )
    u.add_argument("--unit", required=True)
    u.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (else it is asked for)",
    )
    u.set_defaults(handler=_cmd_records_add_user)
    d = rsub.add_parser("seed-demo", help="fill the store with a year of invented records")
    d.add_argument("--unit", default="Cyber Unit North")
    d.add_argument("--year", type=int, default=2025)
    d.set_defaults(handler=_cmd_records_seed_demo)
    m = rsub.add_parser("manage", help="run a Django management command (e.g. createsuperuser)")
    m.add_argument("manage_args", nargs=argparse.REMAINDER)
    m.set_defaults(handler=_cmd_records_manage)


def _cmd_records_migrate(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=False)
    from fellwatch.web.server import pending_migrations

    pending = pending_migrations()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    _say(f"store migrated: {len(pending)} migration(s) applied" if pending
         else "store up to date")
    return 0


def _cmd_records_import_scan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fellwatch.web.scans import import_scan_dir

    n = import_scan_dir(Path(args.out_dir), args.case, args.exhibit, args.user)
    sys.stdout.write(f"recorded {n} findings against exhibit {args.exhibit} of case {args.case}\n")
    return 0


def _cmd_records_import_csv(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.csv_import import import_csv

    n = import_csv(args.kind, Path(args.csv_file), unit=args.unit, user=args.user)
    sys.stdout.write(f"imported {n} {args.kind}\n")
    return 0


def _cmd_records_add_user(args: argparse.Namespace) -> int:
    import getpass

    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.errors import UsageError
    from fellwatch.web.records.people import add_officer

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the passwords differ")
    add_officer(args.username, password, args.role, args.unit)
    sys.stdout.write(f"added {args.username} ({args.role}, {args.unit})\n")
    return 0


def _cmd_records_seed_demo(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.synthetic import YearPlan, seed_year

    plan = seed_year(args.unit, YearPlan(year=args.year), seed=args.year)
    sys.stdout.write(
        f"seeded {args.year}: {plan.arrests} arrests, {plan.warrants_executed} "
        f"warrants executed, {plan.children_safeguarded} children safeguarded\n"
    )
    return 0


def _cmd_records_manage(args: argparse.Namespace) -> int:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fellwatch records manage", *args.manage_args])
    return 0


# --- integrity: the evidence's own hashes, the unit's key, signed outputs ---------------------


def _register_integrity(sub: SubParsers) -> None:
    ev = sub.add_parser("evidence", help="the evidence files' own integrity")
    esub = ev.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")
    v = esub.add_parser(
        "verify",
        help="hash EVIDENCE in full again, check an E01's acquisition hash and every chunk, "
        "compare with the SHA-256 remembered from earlier scans",
    )
    v.add_argument("evidence", type=Path, metavar="EVIDENCE")
    v.set_defaults(handler=_cmd_evidence_verify)

    keys = sub.add_parser("keys", help="the unit's signing key for scan manifests")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    k = ksub.add_parser("init", help="make the unit's Ed25519 key pair in the data directory")
    k.set_defaults(handler=_cmd_keys_init)

    check = sub.add_parser(
        "verify", help="check a scan folder's signed manifest offline; name any changed file"
    )
    check.add_argument("out_dir", type=Path, metavar="DIR")
    check.add_argument(
        "--key",
        type=Path,
        metavar="PUBLIC_KEY",
        help="the unit's public key (PEM) the signature must be by (default: the key the "
        "manifest names; its fingerprint is printed)",
    )
    check.set_defaults(handler=_cmd_verify)


def _cmd_evidence_verify(args: argparse.Namespace) -> int:
    from fellwatch.errors import IncompleteError
    from fellwatch.evidence import open_evidence
    from fellwatch.scan.verify import EvidenceHashCache, hash_evidence, identity, verify_chunks

    ev = open_evidence(str(args.evidence))
    cache = EvidenceHashCache.default()
    try:
        fmt = str(ev.describe().get("format") or "")
        remembered = cache.get(identity(args.evidence))
        now = hash_evidence(args.evidence, fmt, cache, rehash=True)
        check = getattr(ev, "chunk_check", None)  # an E01's chunks, verified again in full
        chunks = (verify_chunks(args.evidence, check, cache, recheck=True)
                  if fmt == "ewf" and check is not None else None)
    finally:
        cache.close()
        ev.close()
    if now.sha256 is None:
        raise IncompleteError(f"{args.evidence}: a folder has no single hash (its inventory is)")
    _say(f"sha256          {now.sha256}")
    for f in now.files:
        _say(f"  {f['name']:<28} {f['sha256']}")
    problems = []
    if remembered is None:
        _say("remembered      none (first time Fellwatch has seen these files); remembered now")
    elif remembered["sha256"] == now.sha256:
        _say(f"remembered      same as hashed on {remembered['computed_at']}")
    else:
        problems.append(f"the SHA-256 differs from the one hashed on {remembered['computed_at']}")
    acq = now.acquisition
    if acq is not None:
        stored = ", ".join(f"{k} {v}" for k, v in sorted(acq["stored"].items())) or "none"
        _say(f"acquisition     {acq['verdict']} (stored: {stored})")
        if acq["verdict"] != "matches" and acq["verdict"] != "absent":
            problems.append(f"the acquisition hash check says {acq['verdict']}")
    if chunks is not None:
        if chunks.check is None:
            _say("chunks          not verified: the chunk tables cannot be followed")
        else:
            bad = chunks.check.bad
            _say(f"chunks          {chunks.check.chunks} verified, {len(bad)} fail their check")
            for c in bad:
                _say(f"  chunk {c.index} at media offset {c.offset}: {c.reason}")
            if bad:
                problems.append(f"{len(bad)} E01 chunk(s) fail their check")
    if problems:
        raise IncompleteError(f"{args.evidence}: " + "; ".join(problems))
    return 0


def _cmd_keys_init(args: argparse.Namespace) -> int:
    from fellwatch.reports.manifest import init_keys

    public, print_ = init_keys()
    _say(f"made the unit's key; public key {public} ({print_})")
    _say("give the public key to whoever must check your scan folders: fellwatch verify DIR "
         "--key PUBLIC_KEY")  # fmt: skip
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from fellwatch.errors import IncompleteError
    from fellwatch.reports.manifest import verify_dir

    verdict = verify_dir(args.out_dir, args.key)
    _say(f"signed by       {verdict.signed_by or 'nobody (unsigned manifest)'}")
    _say(f"files listed    {verdict.files}")
    for label, names in (("changed", verdict.changed), ("missing", verdict.missing),
                         ("not listed", verdict.added)):  # fmt: skip
        for name in names:
            _say(f"{label:<15} {name}")
    if not verdict.ok:
        raise IncompleteError(f"{args.out_dir}: outputs differ from the manifest")
    if verdict.signed_by is None:
        raise IncompleteError(f"{args.out_dir}: every file matches, but the manifest is unsigned")
    _say("intact          every file is as signed")
    return 0


def _register_review(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from fellwatch.web.review.cli import register  # no Django until a command runs

    register(sub)


_COMMANDS.extend([_register_serve, _register_audit, _register_records, _register_integrity,
                  _register_review])


if __name__ == "__main__":
    sys.exit(main())
