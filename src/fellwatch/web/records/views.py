"""Pages and JSON answers of the records. Access is decided in `access`; every view of case data
is audited here, every create/change where it is saved (`signals`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from fellwatch.web.audit.log import record
from fellwatch.web.records import errors, forms
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
    Arrest,
    Case,
    CustodyAction,
    CustodyEntry,
    Exhibit,
    Operation,
    Person,
    Role,
    SafeguardingRecord,
    SearchWarrant,
    custody_closed_reason,
    custody_reason,
    officer_name,
    void_case_refusal,
)
from fellwatch.web.scans import category_counts, finding_counts, summary_agrees

FINDINGS_PAGE = 200

PAGE_SIZE = 50


def _ctx(request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
    return {"can_write": can_write(request.user), "role": role_of(request.user), **kwargs}


def _refuse_read_only(request: HttpRequest, what: str, ident: Any, reason: str) -> HttpResponse:
    """A page that would add to or change a void record, or a record of a void case: refused
    (GET too, so no form is offered that could not be saved), logged as a refusal."""
    record("denied", request=request, object_type=what, object_id=str(ident),
           detail={"method": request.method, "status": 403, "why": "void"})
    return errors.read_only(request, reason)


def _custody_refusal(exhibit: Exhibit) -> str:
    """Why the exhibit page offers no new custody entry or evidence: void, or finally
    disposed of (the chain's own check, asked of an entry made now)."""
    probe = CustodyEntry(exhibit=exhibit, at=timezone.now(), action=CustodyAction.ACCESSED)
    found = probe.chain_errors()
    return str(found.get(NON_FIELD_ERRORS) or found.get("action") or "")


def _page(request: HttpRequest, queryset: Any, size: int = PAGE_SIZE) -> Page:
    """One page of a list (?page=N; out of range: the nearest page)."""
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _query(request: HttpRequest) -> str:
    return str(request.GET.get("q", "")).strip()[:100]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if role_of(request.user) == Role.ADMINISTRATOR or (
            officer_of(request.user) is None and request.user.is_staff):
        # The administrator holds reference data and people, no case data: straight to that.
        return redirect("admin:index")
    cases = visible_cases(request.user).filter(voided_at__isnull=True).select_related(
        "operation", "officer_in_charge__officer")[:50]
    operations = visible_operations(request.user)[:20]
    return render(request, "records/home.html",
                  _ctx(request, cases=cases, operations=operations))


def health(request: HttpRequest) -> HttpResponse:
    """For a load balancer or a monitor: 200 when the store answers. Says nothing else."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse("ok\n", content_type="text/plain")


# --- operations -----------------------------------------------------------------------------

@login_required
def operation_list(request: HttpRequest) -> HttpResponse:
    q = _query(request)
    operations = visible_operations(request.user).annotate(
        n_warrants=Count("warrants", filter=Q(warrants__voided_at__isnull=True), distinct=True),
        n_arrests=Count("arrests", filter=Q(arrests__voided_at__isnull=True), distinct=True))
    if q:
        operations = operations.filter(Q(name__icontains=q) | Q(lead_officer__icontains=q))
    record("view", request=request, object_type="operation", object_id="list")
    return render(request, "records/operation_list.html",
                  _ctx(request, page=_page(request, operations), q=q))


@login_required
def operation_new(request: HttpRequest) -> HttpResponse:
    officer = officer_of(request.user)
    if officer is None or not can_write(request.user):
        deny(request, "operation", "new", status=403)
    assert officer is not None
    form = forms.OperationForm(request.POST or None, instance=Operation(unit=officer.unit),
                               initial={"starts_on": timezone.localdate(),
                                        "lead_officer": officer_name(request.user)})
    if request.method == "POST" and form.is_valid():
        operation = form.save()
        messages.success(request, f"Operation {operation.name} recorded.")
        return redirect("operation", operation_id=operation.pk)
    return render(request, "records/form.html",
                  _ctx(request, form=form, title="New operation"))


@operation_view(write=True)
def operation_edit(request: HttpRequest, operation: Operation) -> HttpResponse:
    form = forms.OperationForm(request.POST or None, instance=operation)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Operation {operation.name} updated.")
        return redirect("operation", operation_id=operation.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Edit operation {operation.name}"))


@operation_view()
def operation_detail(request: HttpRequest, operation: Operation) -> HttpResponse:
    cases = visible_cases(request.user)
    record("view", request=request, obj=operation)
    return render(request, "records/operation_detail.html", _ctx(
        request,
        operation=operation,
        warrants=(operation.warrants.filter(case__isnull=True)
                  | operation.warrants.filter(case__in=cases)).filter(voided_at__isnull=True),
        cases=operation.cases.filter(pk__in=cases, voided_at__isnull=True),
        arrests=operation.arrests.filter(case__in=cases, voided_at__isnull=True)
        .select_related("person", "offence"),
        exhibits=operation.exhibits.filter(case__in=cases, voided_at__isnull=True)
        .select_related("case"),
    ))


@operation_view(write=True)
def operation_warrant_new(request: HttpRequest, operation: Operation) -> HttpResponse:
    form = forms.WarrantForm(request.POST or None, instance=SearchWarrant(operation=operation))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Search warrant recorded.")
        return redirect("operation", operation_id=operation.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"New search warrant — {operation.name}"))


# --- cases ----------------------------------------------------------------------------------

def search_cases(cases: QuerySet[Case], q: str) -> QuerySet[Case]:
    """Cases whose reference, or a person's name, or an exhibit's reference, seal number or
    serial, contains `q`."""
    if not q:
        return cases
    return cases.filter(
        Q(reference__icontains=q) | Q(persons__name__icontains=q)
        | Q(exhibits__reference__icontains=q) | Q(exhibits__seal_number__icontains=q)
        | Q(exhibits__serial__icontains=q)).distinct()


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    q = _query(request)
    cases = search_cases(visible_cases(request.user), q).select_related(
        "operation", "officer_in_charge__officer").order_by("-opened_on", "reference")
    record("view", request=request, object_type="case", object_id="list",
           detail={"q": q} if q else None)
    return render(request, "records/case_list.html",
                  _ctx(request, page=_page(request, cases), q=q))


@login_required
def exhibit_list(request: HttpRequest) -> HttpResponse:
    """Every exhibit of the cases the user may open, in natural order of reference (JE/2 before
    JE/10), searchable by reference, seal number, serial, case reference or person seized from."""
    q = _query(request)
    exhibits = Exhibit.objects.filter(case__in=visible_cases(request.user),
                                      voided_at__isnull=True).select_related("case")
    if q:
        exhibits = exhibits.filter(
            Q(reference__icontains=q) | Q(seal_number__icontains=q) | Q(serial__icontains=q)
            | Q(case__reference__icontains=q) | Q(seized_from__icontains=q))
    exhibits = exhibits.order_by("reference_sort", "case__reference", "pk")
    record("view", request=request, object_type="exhibit", object_id="list",
           detail={"q": q} if q else None)
    return render(request, "records/exhibit_list.html",
                  _ctx(request, page=_page(request, exhibits), q=q))


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
                          operations=operations, instance=Case(unit=officer.unit))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            case = form.save()
            case.assigned.add(request.user)  # whoever opens a case works on it
        messages.success(request, f"Case {case.reference} opened.")
        return redirect("case", case_id=case.pk)
    if form.has_error("reference", "reference-taken"):
        record("denied", request=request, object_type="case", object_id="new",
               detail={"reference": form.data.get("reference", ""), "why": "reference taken"})
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
        exhibits=case.exhibits.order_by("reference_sort", "pk"),
        safeguarding=case.safeguarding.all(),
        officer_in_charge=officer_name(case.officer_in_charge),
    ))


@case_view(write=True)
def case_edit(request: HttpRequest, case: Case) -> HttpResponse:
    if case.voided:
        return _refuse_read_only(request, "case", case.pk, void_case_refusal(case.pk))
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


@case_view(write=True)
def case_void(request: HttpRequest, case: Case) -> HttpResponse:
    """A case opened in error: void, with a reason (supervisors). It and everything of it
    drop out of the figures; it stays in the list, marked void, and in the audit log."""
    if role_of(request.user) != Role.SUPERVISOR:
        deny(request, "case", case.pk, status=403)
    if case.voided:
        return _refuse_read_only(request, "case", case.pk, void_case_refusal(case.pk))
    form = forms.VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case.voided_at = timezone.now()
        case.voided_by = request.user.get_username()
        case.void_reason = form.cleaned_data["reason"]
        case.save(update_fields=["voided_at", "voided_by", "void_reason"])
        messages.success(request, f"Case {case.reference} voided: it no longer counts in the "
                                  "figures.")
        return redirect("case", case_id=case.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Void case {case.reference}", case=case, button="Void",
        note="A void case stays in the list (marked void) and in the audit log; it and "
             "everything recorded under it drop out of every figure."))


# --- the records of a case: new, edit, void -------------------------------------------------

# kind → (model, related name on Case, title). One set of views serves them all.
CHILDREN: dict[str, tuple[type[Any], str, str]] = {
    "person": (Person, "persons", "Person"),
    "arrest": (Arrest, "arrests", "Arrest"),
    "warrant": (SearchWarrant, "warrants", "Search warrant"),
    "exhibit": (Exhibit, "exhibits", "Exhibit"),
    "safeguarding": (SafeguardingRecord, "safeguarding", "Safeguarding record"),
}


def _child_form(kind: str, request: HttpRequest, case: Case, instance: Any,
                initial: dict[str, Any] | None = None) -> Any:
    data = request.POST or None
    operations = visible_operations(request.user)
    if kind == "person":
        return forms.PersonForm(data, instance=instance, initial=initial)
    if kind == "arrest":
        return forms.ArrestForm(data, instance=instance, initial=initial, case=case,
                                operations=operations)
    if kind == "warrant":
        return forms.WarrantForm(data, instance=instance, initial=initial)
    if kind == "exhibit":
        return forms.ExhibitForm(data, instance=instance, initial=initial, case=case,
                                 operations=operations)
    return forms.SafeguardingForm(data, instance=instance, initial=initial)


def _new_child(kind: str, request: HttpRequest, case: Case) -> HttpResponse:
    model, _, title = CHILDREN[kind]
    if case.voided:
        return _refuse_read_only(request, kind, "new", void_case_refusal(case.pk))
    today = timezone.localdate()
    initial: dict[str, Any] = {}
    instance = model(case=case)
    if kind == "arrest":
        instance.operation = case.operation
        initial = {"operation": case.operation_id, "arrested_on": today,
                   "arresting_officer": officer_name(request.user)}
    elif kind == "warrant":
        instance.operation = case.operation
    elif kind == "exhibit":
        initial = {"operation": case.operation_id, "seized_by": officer_name(request.user)}
    elif kind == "safeguarding":
        initial = {"action_on": today}
        # Another page (a chat, a finding) may open this form with what it already knows.
        for name in ("reference", "pseudonym", "age_band", "identified_how", "action",
                     "agency", "outcome", "source"):
            value = request.GET.get(name)
            if value:
                field = {"pseudonym": "reference", "source": "outcome"}.get(name, name)
                initial[field] = value[:300]
    form = _child_form(kind, request, case, instance, initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            obj = form.save()
            if kind == "exhibit":
                # The chain of custody starts with the seizure itself.
                CustodyEntry.objects.create(
                    exhibit=obj, at=obj.seized_at, by=obj.seized_by,
                    action=CustodyAction.SEIZED, to_location=obj.seized_where,
                    reason="seizure", seal_intact=True if obj.seal_number else None,
                    seal_number=obj.seal_number)
        messages.success(request, f"{title} recorded.")
        if kind == "exhibit":
            return redirect("exhibit", case_id=case.pk, exhibit_id=obj.pk)
        return redirect("case", case_id=case.pk)
    return render(request, "records/form.html",
                  _ctx(request, form=form, title=f"New {title.lower()} — case {case.reference}",
                       case=case))


def _edit_child(kind: str, request: HttpRequest, case: Case, ident: int) -> HttpResponse:
    _model, related, title = CHILDREN[kind]
    obj = child_of(request, getattr(case, related).all(), kind, ident)
    if obj.voided or case.voided:
        return _refuse_read_only(request, kind, ident, obj.read_only_reason())
    form = _child_form(kind, request, case, obj)
    if request.method == "POST" and form.is_valid():
        form.save()  # audited with what changed from what (records.signals)
        messages.success(request, f"{title} updated.")
        if kind == "exhibit":
            return redirect("exhibit", case_id=case.pk, exhibit_id=obj.pk)
        return redirect("case", case_id=case.pk)
    record("view", request=request, obj=obj, detail={"case": case.pk, "page": "edit"})
    note = ("Its chain of custody is not changed: correct a custody entry with a new one."
            if kind == "exhibit" else "")
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Edit {title.lower()} — case {case.reference}", case=case,
        note=note, void_url=reverse(f"{kind}-void", kwargs={"case_id": case.pk,
                                                            f"{kind}_id": obj.pk})
        if role_of(request.user) == Role.SUPERVISOR else ""))


def _void_child(kind: str, request: HttpRequest, case: Case, ident: int) -> HttpResponse:
    _model, related, title = CHILDREN[kind]
    if role_of(request.user) != Role.SUPERVISOR:
        deny(request, kind, ident, status=403)
    obj = child_of(request, getattr(case, related).all(), kind, ident)
    if obj.voided or case.voided:
        return _refuse_read_only(request, kind, ident, obj.read_only_reason())
    form = forms.VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        obj.voided_at = timezone.now()
        obj.voided_by = request.user.get_username()
        obj.void_reason = form.cleaned_data["reason"]
        obj.save(update_fields=["voided_at", "voided_by", "void_reason"])
        messages.success(request, f"{title} voided: it no longer counts in the figures.")
        return redirect("case", case_id=case.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Void {title.lower()} — {obj}", case=case,
        note="A void record stays on the case page (struck through) and in the audit log; "
             "it drops out of every figure and list.", button="Void"))


def _child_views(kind: str) -> tuple[Callable[..., HttpResponse], ...]:
    @case_view(write=True)
    def new(request: HttpRequest, case: Case) -> HttpResponse:
        return _new_child(kind, request, case)

    @case_view(write=True)
    def edit(request: HttpRequest, case: Case, **kwargs: int) -> HttpResponse:
        return _edit_child(kind, request, case, kwargs[f"{kind}_id"])

    @case_view(write=True)
    def void(request: HttpRequest, case: Case, **kwargs: int) -> HttpResponse:
        return _void_child(kind, request, case, kwargs[f"{kind}_id"])

    for view, action in ((new, "new"), (edit, "edit"), (void, "void")):
        view.__name__ = view.__qualname__ = f"{kind}_{action}"
    return new, edit, void


person_new, person_edit, person_void = _child_views("person")
arrest_new, arrest_edit, arrest_void = _child_views("arrest")
warrant_new, warrant_edit, warrant_void = _child_views("warrant")
exhibit_new, exhibit_edit, exhibit_void = _child_views("exhibit")
safeguarding_new, safeguarding_edit, safeguarding_void = _child_views("safeguarding")


# --- exhibits -------------------------------------------------------------------------------

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
        evidence=exhibit.evidence.all(), scans=scans,
        custody_closed=_custody_refusal(exhibit) if can_write(request.user) else ""))


@case_view(write=True)
def custody_new(request: HttpRequest, case: Case, exhibit_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    closed = custody_closed_reason(exhibit)
    if closed:
        return _refuse_read_only(request, "custody", exhibit.pk, closed)
    last = exhibit.custody.last()
    form = forms.CustodyForm(
        request.POST or None,
        instance=CustodyEntry(exhibit=exhibit, by=officer_name(request.user)),
        initial={
            "at": timezone.localtime().replace(second=0, microsecond=0),
            "action": CustodyAction.MOVED,
            "from_location": last.to_location if last else "",
            "seal_number": last.seal_number if last else exhibit.seal_number,
        })
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Custody entry recorded.")
        return redirect("exhibit", case_id=case.pk, exhibit_id=exhibit.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Custody entry — exhibit {exhibit.reference}", case=case,
        note="The chain of custody is append-only: a correction is a new entry."))


@case_view(write=True)
def evidence_new(request: HttpRequest, case: Case, exhibit_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    closed = custody_closed_reason(exhibit)
    if closed:
        return _refuse_read_only(request, "evidence", exhibit.pk, closed)
    form = forms.EvidenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                form.instance.exhibit = exhibit
                evidence = form.save()
                last = exhibit.custody.last()
                # Through the chain's own check (CustodyEntry.save): an image recorded after
                # the exhibit was returned or destroyed is refused, the evidence with it.
                CustodyEntry.objects.create(
                    exhibit=exhibit, at=timezone.now(), by=officer_name(request.user),
                    action=CustodyAction.IMAGED, reason=custody_reason(
                        f"image made: {evidence.path}"),
                    seal_number=last.seal_number if last else exhibit.seal_number,
                    hash_after=evidence.sha256)
        except ValidationError as exc:
            form.add_error(None, "Not recorded: " + " ".join(exc.messages))
        else:
            messages.success(request, "Evidence recorded.")
            return redirect("exhibit", case_id=case.pk, exhibit_id=exhibit.pk)
    return render(request, "records/form.html", _ctx(
        request, form=form, title=f"Evidence — exhibit {exhibit.reference}", case=case))


@case_view()
def scan_detail(request: HttpRequest, case: Case, exhibit_id: int, scan_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    scan = child_of(request, exhibit.scans.all(), "scan", scan_id)
    record("view", request=request, obj=scan, detail={"case": case.pk})
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
    page = max(page, 1)
    counts = finding_counts(scan.findings.all())
    pages = max(1, -(-counts["listed"] // FINDINGS_PAGE))
    start = (page - 1) * FINDINGS_PAGE
    # Ordered by the unique (scan, evidence index, key) index, as findings.json lists them: a
    # page of 100 000 is one range read.
    findings = scan.findings.order_by("evidence_index", "key").only(
        "path", "size", "sha256", "category", "review", "known_good", "error",
        "carved_duplicate_of", "origin", "allocated", "grade", "pregrade",
        "has_candidates")[start:start + FINDINGS_PAGE]
    return render(request, "records/scan_detail.html", _ctx(
        request, case=case, exhibit=exhibit, scan=scan, counts=category_counts(scan),
        totals=counts, agrees=summary_agrees(scan, counts), findings=findings, page=page,
        pages=pages, prev_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page < pages else None,
        has_report=_report_path(scan) is not None))


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
        # Void records are left out, as from the figures; the audit log keeps them.
        "exhibits": [_exhibit_json(e) for e in case.exhibits.filter(voided_at__isnull=True)],
        "arrests": [{"person": a.person.name, "arrested_on": a.arrested_on.isoformat(),
                     "arrested_at": a.arrested_at.isoformat() if a.arrested_at else None,
                     "custody_record": a.custody_record,
                     "arresting_officer": a.arresting_officer,
                     "offence": a.offence.code, "outcome": a.outcome}
                    for a in case.arrests.filter(voided_at__isnull=True)
                    .select_related("person", "offence")],
        "safeguarding": [{"reference": s.reference, "age_band": s.age_band, "action": s.action,
                          "agency": s.agency, "action_on": s.action_on.isoformat()}
                         for s in case.safeguarding.filter(voided_at__isnull=True)],
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

    officer = officer_of(request.user)
    # Auditors only: not the supervisors whose actions it records, not the administrator.
    if officer is None or officer.role != Role.AUDITOR:
        record("denied", request=request, object_type="audit", object_id="log",
               detail={"status": 403})
        raise PermissionDenied("the audit log is for the unit's auditors")
    q = _query(request)
    record("view", request=request, object_type="audit", object_id="log",
           detail={"q": q} if q else None)
    entries = AuditEntry.objects.filter(unit=officer.unit.name).order_by("-seq")
    if q:
        entries = entries.filter(Q(username__icontains=q) | Q(action__iexact=q)
                                 | Q(detail__icontains=q) | Q(path__icontains=q))
    return render(request, "records/audit_log.html",
                  _ctx(request, page=_page(request, entries, 100), q=q,
                       verdict=verify(full=False)))


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
