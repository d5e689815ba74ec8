"""Pages and JSON answers of the records. Access is decided in `access`; every view of case data
is audited here, every create/change where it is saved (`signals`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fellwatch.web.audit.log import record
from fellwatch.web.records import forms
from fellwatch.web.records.access import (
    can_write,
    case_view,
    child_of,
    deny,
    officer_of,
    operation_view,
    role_of,
    visible_cases,
    visible_operations,
)
from fellwatch.web.records.models import (
    Case,
    CustodyAction,
    CustodyEntry,
    Exhibit,
    Operation,
    Role,
)
from fellwatch.web.scans import category_counts


def _ctx(request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
    return {"can_write": can_write(request.user), "role": role_of(request.user), **kwargs}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    cases = visible_cases(request.user).select_related("operation")[:50]
    operations = visible_operations(request.user)[:20]
    return render(request, "records/home.html",
                  _ctx(request, cases=cases, operations=operations))


# --- operations -----------------------------------------------------------------------------

@login_required
def operation_list(request: HttpRequest) -> HttpResponse:
    operations = visible_operations(request.user).annotate(
        n_warrants=Count("warrants", distinct=True), n_arrests=Count("arrests", distinct=True))
    record("view", request=request, object_type="operation", object_id="list")
    return render(request, "records/operation_list.html", _ctx(request, operations=operations))


@login_required
def operation_new(request: HttpRequest) -> HttpResponse:
    officer = officer_of(request.user)
    if officer is None or not can_write(request.user):
        deny(request, "operation", "new", status=403)
    assert officer is not None
    form = forms.OperationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.unit = officer.unit
        operation = form.save()
        messages.success(request, f"Operation {operation.name} recorded.")
        return redirect("operation", operation_id=operation.pk)
    return render(request, "records/form.html",
                  _ctx(request, form=form, title="New operation"))


@operation_view()
def operation_detail(request: HttpRequest, operation: Operation) -> HttpResponse:
    cases = visible_cases(request.user)
    record("view", request=request, obj=operation)
    return render(request, "records/operation_detail.html", _ctx(
        request,
        operation=operation,
        warrants=operation.warrants.filter(case__isnull=True)
        | operation.warrants.filter(case__in=cases),
        cases=operation.cases.filter(pk__in=cases),
        arrests=operation.arrests.filter(case__in=cases).select_related("person", "offence"),
        exhibits=operation.exhibits.filter(case__in=cases).select_related("case"),
    ))


@operation_view(write=True)
def operation_warrant_new(request: HttpRequest, operation: Operation) -> HttpResponse:
    form = forms.WarrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.operation = operation
        form.save()
        messages.success(request, "Search warrant recorded.")
        return redirect("operation", operation_id=operation.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"New search warrant — {operation.name}"))


# --- cases ----------------------------------------------------------------------------------

@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    cases = visible_cases(request.user).select_related("operation", "officer_in_charge")
    record("view", request=request, object_type="case", object_id="list")
    return render(request, "records/case_list.html", _ctx(request, cases=cases))


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    officer = officer_of(request.user)
    if officer is None or not can_write(request.user):
        deny(request, "case", "new", status=403)
    assert officer is not None
    operations = visible_operations(request.user)
    initial: dict[str, Any] = {"opened_on": timezone.localdate(),
                               "officer_in_charge": request.user.pk}
    if request.GET.get("operation", "").isdigit():
        initial["operation"] = int(request.GET["operation"])
    form = forms.CaseForm(request.POST or None, initial=initial, unit=officer.unit,
                          operations=operations)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.unit = officer.unit
            case = form.save()
            case.assigned.add(request.user)  # whoever opens a case works on it
        messages.success(request, f"Case {case.reference} opened.")
        return redirect("case", case_id=case.pk)
    return render(request, "records/form.html", _ctx(request, form=form, title="New case"))


@case_view()
def case_detail(request: HttpRequest, case: Case) -> HttpResponse:
    record("view", request=request, obj=case)
    return render(request, "records/case_detail.html", _ctx(
        request,
        case=case,
        persons=case.persons.all(),
        arrests=case.arrests.select_related("person", "offence", "operation"),
        warrants=case.warrants.all(),
        exhibits=case.exhibits.all(),
        safeguarding=case.safeguarding.all(),
    ))


@case_view(write=True)
def case_edit(request: HttpRequest, case: Case) -> HttpResponse:
    officer = officer_of(request.user)
    assert officer is not None
    form = forms.CaseForm(request.POST or None, instance=case, unit=case.unit,
                          operations=visible_operations(request.user))
    form.fields["reference"].disabled = True
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Case updated.")
        return redirect("case", case_id=case.pk)
    record("view", request=request, obj=case, detail={"page": "edit"})
    return render(request, "records/form.html", _ctx(request, form=form,
                                                      title=f"Case {case.reference}"))


def _case_child_form(request: HttpRequest, case: Case, form: Any, title: str,
                     before_save: Any = None) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        form.instance.case = case
        if before_save is not None:
            before_save(form.instance)
        form.save()
        messages.success(request, f"{title} recorded.")
        return redirect("case", case_id=case.pk)
    return render(request, "records/form.html",
                  _ctx(request, form=form, title=f"{title} — case {case.reference}", case=case))


@case_view(write=True)
def person_new(request: HttpRequest, case: Case) -> HttpResponse:
    return _case_child_form(request, case, forms.PersonForm(request.POST or None), "Person")


@case_view(write=True)
def arrest_new(request: HttpRequest, case: Case) -> HttpResponse:
    form = forms.ArrestForm(request.POST or None, case=case,
                            operations=visible_operations(request.user),
                            initial={"operation": case.operation_id,
                                     "arrested_on": timezone.localdate()})
    return _case_child_form(request, case, form, "Arrest")


@case_view(write=True)
def warrant_new(request: HttpRequest, case: Case) -> HttpResponse:
    def attach(warrant: Any) -> None:
        warrant.operation = case.operation

    return _case_child_form(request, case, forms.WarrantForm(request.POST or None),
                            "Search warrant", attach)


@case_view(write=True)
def exhibit_new(request: HttpRequest, case: Case) -> HttpResponse:
    form = forms.ExhibitForm(request.POST or None, case=case,
                             operations=visible_operations(request.user),
                             initial={"operation": case.operation_id,
                                      "seized_by": request.user.get_username()})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.case = case
            exhibit = form.save()
            # The chain of custody starts with the seizure itself.
            CustodyEntry.objects.create(
                exhibit=exhibit, at=exhibit.seized_at, by=exhibit.seized_by,
                action=CustodyAction.SEIZED, to_location=exhibit.seized_where,
                reason="seizure", seal_intact=True if exhibit.seal_number else None,
                seal_number=exhibit.seal_number)
        messages.success(request, f"Exhibit {exhibit.reference} recorded.")
        return redirect("exhibit", case_id=case.pk, exhibit_id=exhibit.pk)
    return render(request, "records/form.html",
                  _ctx(request, form=form, title=f"New exhibit — case {case.reference}",
                       case=case))


@case_view()
def exhibit_detail(request: HttpRequest, case: Case, exhibit_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    record("view", request=request, obj=exhibit, detail={"case": case.pk})
    scans = []
    for scan in exhibit.scans.all():
        scan.has_report = _report_path(scan) is not None
        scans.append((scan, category_counts(scan)))
    return render(request, "records/exhibit_detail.html", _ctx(
        request, case=case, exhibit=exhibit, custody=exhibit.custody.all(),
        evidence=exhibit.evidence.all(), scans=scans))


@case_view(write=True)
def custody_new(request: HttpRequest, case: Case, exhibit_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    last = exhibit.custody.last()
    form = forms.CustodyForm(request.POST or None, initial={
        "at": timezone.localtime().replace(second=0, microsecond=0),
        "action": CustodyAction.MOVED,
        "from_location": last.to_location if last else "",
        "seal_number": last.seal_number if last else exhibit.seal_number,
    })
    if request.method == "POST" and form.is_valid():
        form.instance.exhibit = exhibit
        form.instance.by = request.user.get_username()
        form.save()
        messages.success(request, "Custody entry recorded.")
        return redirect("exhibit", case_id=case.pk, exhibit_id=exhibit.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Custody entry — exhibit {exhibit.reference}", case=case))


@case_view(write=True)
def evidence_new(request: HttpRequest, case: Case, exhibit_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    form = forms.EvidenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.exhibit = exhibit
            evidence = form.save()
            last = exhibit.custody.last()
            CustodyEntry.objects.create(
                exhibit=exhibit, at=timezone.now(), by=request.user.get_username(),
                action=CustodyAction.IMAGED, reason=f"image made: {evidence.path}",
                seal_number=last.seal_number if last else exhibit.seal_number,
                hash_after=evidence.sha256)
        messages.success(request, "Evidence recorded.")
        return redirect("exhibit", case_id=case.pk, exhibit_id=exhibit.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Evidence — exhibit {exhibit.reference}", case=case))


@case_view()
def scan_detail(request: HttpRequest, case: Case, exhibit_id: int, scan_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    scan = child_of(request, exhibit.scans.all(), "scan", scan_id)
    record("view", request=request, obj=scan, detail={"case": case.pk})
    return render(request, "records/scan_detail.html", _ctx(
        request, case=case, exhibit=exhibit, scan=scan, counts=category_counts(scan),
        findings=scan.findings.all()[:1000], has_report=_report_path(scan) is not None))


def _report_path(scan: Any) -> Path | None:
    path = Path(scan.out_dir) / "report.html"
    return path if path.is_file() else None


@case_view()
def scan_report(request: HttpRequest, case: Case, exhibit_id: int, scan_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    scan = child_of(request, exhibit.scans.all(), "scan", scan_id)
    path = _report_path(scan)
    if path is None:
        raise Http404("this scan's directory holds no report.html")
    record("view", request=request, obj=scan, detail={"case": case.pk, "page": "report"})
    response = FileResponse(path.open("rb"), content_type="text/html; charset=utf-8")
    # The report is the engine's own page: sandboxed, so nothing in it runs as this site.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    return response


@case_view(write=True)
def safeguarding_new(request: HttpRequest, case: Case) -> HttpResponse:
    # A lead (the chat pages' "create safeguarding record") arrives as GET values: they only
    # prefill the form, which the officer checks and saves.
    prefill = {k: request.GET[k] for k in ("reference", "age_band", "identified_how", "outcome")
               if k in request.GET}
    form = forms.SafeguardingForm(request.POST or None,
                                  initial={"action_on": timezone.localdate(), **prefill})
    return _case_child_form(request, case, form, "Safeguarding record")


# --- JSON API of one case -------------------------------------------------------------------

def _exhibit_json(exhibit: Exhibit, custody: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": exhibit.pk, "reference": exhibit.reference, "type": exhibit.type,
        "make": exhibit.make, "model": exhibit.model, "serial": exhibit.serial,
        "seal_number": exhibit.seal_number, "seized_at": exhibit.seized_at.isoformat(),
        "seized_by": exhibit.seized_by, "seized_where": exhibit.seized_where,
    }
    if custody:
        out["custody"] = [
            {"at": c.at.isoformat(), "by": c.by, "action": c.action,
             "from": c.from_location, "to": c.to_location, "reason": c.reason,
             "seal_intact": c.seal_intact, "seal_number": c.seal_number,
             "hash_before": c.hash_before, "hash_after": c.hash_after}
            for c in exhibit.custody.all()
        ]
        out["evidence"] = [{"path": e.path, "sha256": e.sha256} for e in exhibit.evidence.all()]
    return out


@case_view()
@require_GET
def api_case(request: HttpRequest, case: Case) -> JsonResponse:
    record("view", request=request, obj=case, detail={"api": True})
    return JsonResponse({
        "id": case.pk, "reference": case.reference, "status": case.status,
        "opened_on": case.opened_on.isoformat(),
        "closed_on": case.closed_on.isoformat() if case.closed_on else None,
        "offence_types": sorted(case.offence_types.values_list("code", flat=True)),
        "exhibits": [_exhibit_json(e) for e in case.exhibits.all()],
        "arrests": [{"person": a.person.name, "arrested_on": a.arrested_on.isoformat(),
                     "offence": a.offence.code, "outcome": a.outcome}
                    for a in case.arrests.select_related("person", "offence")],
        "safeguarding": [{"reference": s.reference, "age_band": s.age_band, "action": s.action,
                          "agency": s.agency, "action_on": s.action_on.isoformat()}
                         for s in case.safeguarding.all()],
    })


@case_view()
@require_GET
def api_exhibit(request: HttpRequest, case: Case, exhibit_id: int) -> JsonResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    record("view", request=request, obj=exhibit, detail={"api": True, "case": case.pk})
    return JsonResponse(_exhibit_json(exhibit, custody=True))


# --- the audit log (auditors) ---------------------------------------------------------------

@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    from fellwatch.web.audit.log import verify
    from fellwatch.web.audit.models import AuditEntry

    if role_of(request.user) not in (Role.AUDITOR, Role.SUPERVISOR):
        record("denied", request=request, object_type="audit", object_id="log",
               detail={"status": 403})
        raise PermissionDenied("the audit log is for auditors and supervisors")
    record("view", request=request, object_type="audit", object_id="log")
    entries = AuditEntry.objects.order_by("-seq")[:300]
    return render(request, "records/audit_log.html",
                  _ctx(request, entries=entries, verdict=verify()))


# --- CSV import (supervisors) ---------------------------------------------------------------

@login_required
def csv_import(request: HttpRequest) -> HttpResponse:
    from fellwatch.web.records.csv_import import KINDS, CsvImportError, import_csv_text

    officer = officer_of(request.user)
    if officer is None or officer.role != Role.SUPERVISOR:
        deny(request, "import", "csv", status=403)
    assert officer is not None
    form = forms.CsvImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = upload.read().decode("utf-8-sig")
            n = import_csv_text(form.cleaned_data["kind"], text, officer.unit.name,
                                request.user.get_username(), name=upload.name)
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text.")
        except CsvImportError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"Imported {n} {form.cleaned_data['kind']}.")
            return redirect("csv-import")
    columns = {kind: ", ".join(cols) for kind, (cols, _) in KINDS.items()}
    return render(request, "records/csv_import.html",
                  _ctx(request, form=form, columns=columns))
