"""The review's commands, registered by `fellwatch.cli`: `report exhibit`, `export vics`,
`review import-vics`. Django is set up only when one of them runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    rep = sub.add_parser("report", help="documents for court: the exhibit report")
    rsub = rep.add_subparsers(dest="report_command", required=True, metavar="KIND")
    ex = rsub.add_parser("exhibit", help="counts per UK category of an exhibit (HTML and PDF)")
    ex.add_argument("--case", required=True, metavar="REF")
    ex.add_argument("--exhibit", required=True, metavar="REF")
    ex.add_argument("--out", required=True, metavar="DIR", type=Path)
    ex.set_defaults(handler=cmd_report_exhibit)
    exp = sub.add_parser("export", help="exports for national databases")
    esub = exp.add_subparsers(dest="export_command", required=True, metavar="FORMAT")
    vics = esub.add_parser("vics", help="VICS 2.0 JSON of a case's graded media, for CAID")
    vics.add_argument("--case", required=True, metavar="REF")
    vics.add_argument("--exhibit", metavar="REF", help="only this exhibit's media")
    vics.add_argument("--out", required=True, metavar="FILE", type=Path)
    vics.set_defaults(handler=cmd_export_vics)
    rev = sub.add_parser("review", help="the review of a case's pictures")
    vsub = rev.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    imp = vsub.add_parser("import-vics", help="another tool's VICS categories as suggestions")
    imp.add_argument("vics_file", metavar="FILE", type=Path)
    imp.add_argument("--case", required=True, metavar="REF")
    imp.set_defaults(handler=cmd_review_import_vics)


def _case_and_exhibit(case_ref: str, exhibit_ref: str | None) -> tuple[Any, Any]:
    from fellwatch.web.bootstrap import ensure_django

    ensure_django(migrate=True)
    from fellwatch.web.records.models import Case

    case = Case.objects.filter(reference=case_ref).first()
    if case is None:
        raise LookupError(f"no case {case_ref!r}")
    exhibit = None
    if exhibit_ref is not None:
        exhibit = case.exhibits.filter(reference=exhibit_ref).first()
        if exhibit is None:
            raise LookupError(f"no exhibit {exhibit_ref!r} in case {case_ref!r}")
    return case, exhibit


def _fail(command: str, exc: BaseException) -> int:
    sys.stderr.write(f"fellwatch {command}: {exc}\n")
    return 1


def cmd_report_exhibit(args: argparse.Namespace) -> int:
    try:
        case, exhibit = _case_and_exhibit(args.case, args.exhibit)
        from fellwatch.reports.exhibit_report import ExhibitReportError
        from fellwatch.web.audit.log import record
        from fellwatch.web.review.report_data import write

        try:
            files = write(case, exhibit, args.out)
        except ExhibitReportError as exc:
            return _fail("report exhibit", exc)
        record("export", username="cli", obj=exhibit,
               detail={"case": case.pk, "format": "report", "files": [str(f) for f in files]})
    except LookupError as exc:
        return _fail("report exhibit", exc)
    for f in files:
        sys.stdout.write(f"wrote {f}\n")
    return 0


def cmd_export_vics(args: argparse.Namespace) -> int:
    try:
        case, exhibit = _case_and_exhibit(args.case, args.exhibit)
    except LookupError as exc:
        return _fail("export vics", exc)
    from fellwatch.reports.vics_export import VicsCase, VicsExportError, write_vics_file
    from fellwatch.web.audit.log import record
    from fellwatch.web.review.outputs import _vics_grade_map, vics_media

    try:
        n = write_vics_file(args.out, VicsCase(case_id=case.reference),
                            vics_media(case, exhibit), _vics_grade_map())
    except (VicsExportError, OSError) as exc:
        return _fail("export vics", exc)
    record("export", username="cli", obj=case,
           detail={"case": case.pk, "format": "vics", "media": n, "file": str(args.out)})
    sys.stdout.write(f"wrote {n} media to {args.out}\n")
    return 0


def cmd_review_import_vics(args: argparse.Namespace) -> int:
    try:
        case, _ = _case_and_exhibit(args.case, None)
    except LookupError as exc:
        return _fail("review import-vics", exc)
    from fellwatch.web.audit.log import record
    from fellwatch.web.review.outputs import OutputError, import_vics

    try:
        n = import_vics(args.vics_file, case)
    except OutputError as exc:
        return _fail("review import-vics", exc)
    record("import", username="cli", obj=case,
           detail={"case": case.pk, "format": "vics", "file": str(args.vics_file),
                   "suggestions": n})
    sys.stdout.write(f"{n} findings of case {case.reference} have a suggestion from "
                     f"{args.vics_file.name}\n")
    return 0
