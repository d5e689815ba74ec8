"""The gallery, its pictures, grading and welfare pages. Access is decided in records.access
(a finding, stack or grade of a case the user may not see is a logged 404); every reveal and
every original read is in the audit log; pictures are never cached (NoStoreMiddleware)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from fellwatch.web.audit.log import record
from fellwatch.web.records.access import can_write, case_view, child_of, deny, role_of
from fellwatch.web.records.models import Case, Finding, Role, Scan
from fellwatch.web.review import grading, pictures
from fellwatch.web.review.config import grade_map
from fellwatch.web.review.gallery import PAGE, Query, counts_of, page_of
from fellwatch.web.review.models import Exposure, Grade, Reveal, ReviewerSetting


def _blur_of(user: Any) -> int:
    own = ReviewerSetting.objects.filter(user=user).values_list("blur", flat=True).first()
    # A reviewer may blur more than the unit's default, never less.
    return max(int(settings.REVIEW_BLUR), int(own or 0))


def _break_minutes(user: Any) -> int:
    own = ReviewerSetting.objects.filter(user=user).values_list("break_minutes",
                                                                flat=True).first()
    unit = int(settings.REVIEW_BREAK_MINUTES)
    return min(unit, int(own)) if own else unit


def _granted(user: Any, finding: Finding) -> bool:
    since = timezone.now() - timedelta(minutes=settings.REVIEW_REVEAL_MINUTES)
    return Reveal.objects.filter(user=user, finding=finding, kind="thumbnail",
                                 at__gte=since).exists()


def _finding(request: HttpRequest, case: Case, finding_id: int) -> Finding:
    finding: Finding = child_of(request, case.findings.select_related("scan"), "finding",
                                finding_id)
    return finding


def _image(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "no-store, max-age=0"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the gallery ----------------------------------------------------------------------------


@case_view()
@require_GET
def gallery(request: HttpRequest, case: Case) -> HttpResponse:
    q = Query.from_params(request.GET)
    counts = counts_of(case, q)
    tiles, total = page_of(case, q, counts)
    record("view", request=request, obj=case, detail={"page": "gallery", "query": q.params()})
    today = Exposure.objects.filter(user=request.user, day=timezone.localdate()).aggregate(
        s=Sum("seconds"))["s"] or 0
    exhibit = case.exhibits.filter(pk=q.exhibit).first() if q.exhibit else None
    pages = max(1, -(-total // PAGE))
    hashsets, categories = _facets(case)
    return render(request, "review/gallery.html", {
        "case": case, "q": q, "tiles": tiles, "total": total, "page": q.page, "pages": pages,
        "prev_url": f"?{q.params(page=q.page - 1)}" if q.page > 1 else "",
        "next_url": f"?{q.params(page=q.page + 1)}" if q.page < pages else "",
        "grades": grade_map().grades, "counts": counts,
        "exhibits": case.exhibits.all(), "exhibit": exhibit, "can_write": can_write(request.user),
        "role": role_of(request.user), "break_seconds": _break_minutes(request.user) * 60,
        "exposure_today": today, "hashsets": hashsets, "categories": categories,
        "flag_labels": FLAG_LABELS,
    })


FLAG_LABELS = [("deleted", "deleted"), ("carved", "carved"), ("archive", "in an archive"),
               ("gps", "EXIF GPS"), ("video", "videos"), ("picture", "pictures"),
               ("candidate", "candidates")]


def _facets(case: Case) -> tuple[list[str], list[str]]:
    """The hash sets and categories the case's scans offer as filters (kept on each scan)."""
    sets: set[str] = set()
    cats: set[str] = set()
    for hashsets, facets in Scan.objects.filter(exhibit__case=case).values_list("hashsets",
                                                                               "facets"):
        sets |= {str(h.get("name")) for h in hashsets or []}
        cats |= set((facets or {}).get("categories", []))
    return sorted(sets), sorted(cats)


@case_view()
def thumbnail(request: HttpRequest, case: Case, finding_id: int) -> HttpResponse:
    finding = _finding(request, case, finding_id)  # first: a stranger's finding is a 404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    if request.GET.get("revealed") == "1":
        if not _granted(request.user, finding):
            deny(request, "reveal", finding.pk, status=403)
        record("reveal-view", request=request, obj=finding, detail={"case": case.pk})
        pic = pictures.picture_of(finding, radius=0, revealed=True)
    else:
        pic = pictures.picture_of(finding, radius=_blur_of(request.user))
    return _image(pic.data, pic.content_type)


@case_view()
@require_GET
def finding(request: HttpRequest, case: Case, finding_id: int) -> HttpResponse:
    """One finding: its blurred thumbnail with the gallery's reveal, what it is and where it
    came from, and the chat messages it was sent in (each leading to its conversation)."""
    from fellwatch.web.chats.reading import anchor, sent_in

    found = _finding(request, case, finding_id)
    sent = sent_in(found)
    chats = sent.messages
    record("view", request=request, obj=found, detail={
        "case": case.pk, "page": "finding",
        "conversations": sorted({c["rank"] for c in chats
                                 if c["rank"] is not None and c["scan"] == found.scan_id}),
        # The other scans' conversations listed (the same picture sent on another exhibit).
        "elsewhere": [list(p) for p in sorted({(c["scan"], c["rank"]) for c in chats
                                               if c["rank"] is not None
                                               and c["scan"] != found.scan_id})]})
    for c in chats:
        where = anchor(c["source_key"], c["seq"], c.pop("conversation_key"))
        conversation_url = reverse("chat-conversation", kwargs={
            "case_id": case.pk, "exhibit_id": c["exhibit_id"], "scan_id": c["scan"]})
        c["url"] = (f"{conversation_url}?rank={c['rank']}#m{where}"
                    if c["rank"] is not None else "")
    base = f"/cases/{case.pk}/review/findings/{found.pk}/"
    return render(request, "review/finding.html", {
        "case": case, "finding": found, "exhibit": found.scan.exhibit, "chats": chats,
        "not_searched": sent.not_searched,
        "thumbnail_url": f"{base}thumbnail/", "reveal_url": f"{base}reveal/",
        "thumbnail_error": pictures.thumbnail_failure(found) if found.media else "",
        "grades": found.grades.order_by("at", "pk"), "can_write": can_write(request.user),
        "role": role_of(request.user)})


@case_view()
@require_http_methods(["GET", "POST"])
def reveal(request: HttpRequest, case: Case, finding_id: int) -> JsonResponse:
    """POST: show this one item unblurred for a while (audited). GET: whether it is."""
    finding = _finding(request, case, finding_id)
    if request.method == "POST":
        with transaction.atomic():
            Reveal.objects.create(user=request.user, finding=finding, case=case)
            record("reveal", request=request, obj=finding,
                   detail={"case": case.pk, "path": finding.path, "sha1": finding.sha1})
    return JsonResponse({
        "finding": finding.pk, "revealed": _granted(request.user, finding),
        "minutes": settings.REVIEW_REVEAL_MINUTES,
        "url": f"/cases/{case.pk}/review/findings/{finding.pk}/thumbnail/?revealed=1"})


@case_view()
@require_http_methods(["GET", "POST"])
def original(request: HttpRequest, case: Case, finding_id: int) -> HttpResponse:
    """POST: the item's bytes read again from the evidence (audited). GET: where from."""
    finding = _finding(request, case, finding_id)
    where = {"finding": finding.pk, "evidence": finding.evidence_path, "path": finding.path,
             "origin": finding.origin, "offset": finding.offset, "size": finding.size}
    if request.method != "POST":
        return JsonResponse(where)
    with transaction.atomic():
        Reveal.objects.create(user=request.user, finding=finding, case=case, kind="original")
        record("original", request=request, obj=finding, detail={"case": case.pk, **where})
    try:
        data = pictures.original_of(finding)
    except Exception as exc:  # the evidence moved, a locator broke: say so, do not crash
        from fellwatch.errors import reason

        return JsonResponse({**where, "error": reason(exc)}, status=409)
    kind = finding.content_type if finding.content_type.startswith("image/") else \
        "application/octet-stream"
    response = _image(data, kind)
    if not kind.startswith("image/"):
        response["Content-Disposition"] = f'attachment; filename="finding-{finding.pk}.bin"'
    return response


# --- grading: the JSON API under the case (the page uses it; so may a script) ----------------


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _grade_json(g: Grade) -> dict[str, Any]:
    return {"finding": g.finding_id, "action": g.action, "grade": g.grade, "by": g.by_name,
            "at": g.at.isoformat(), "note": g.note, "source": g.source}


@case_view()
@require_http_methods(["GET", "POST"])
def api_grades(request: HttpRequest, case: Case) -> JsonResponse:
    """GET: the latest entries. POST {"findings": [ids], "action": "grade" | "confirm" |
    "dispute", "grade": "A", "note": "", "stack": false, "source": "api"}: append them."""
    if request.method != "POST":
        entries = case.grades.order_by("-at", "-pk")[:200]
        return JsonResponse({"grades": [_grade_json(g) for g in entries]})
    body = _body(request)
    ids = body.get("findings")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return JsonResponse({"error": "findings: a list of finding ids"}, status=400)
    source = str(body.get("source") or "api")
    if body.get("stack"):
        expanded: list[int] = []
        for f in Finding.objects.filter(case=case, id__in=ids):
            expanded += grading.stack_members(case, f)
        ids, source = sorted(set(expanded) | set(ids)), "stack"
    try:
        entries = grading.apply(case, ids, action=str(body.get("action") or "grade"),
                                grade=str(body.get("grade") or ""),
                                note=str(body.get("note") or ""), user=request.user,
                                source=source)
    except grading.GradeError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    record("grade", request=request, object_type="case", object_id=str(case.pk),
           detail={"case": case.pk, "findings": ids, "action": body.get("action") or "grade",
                   "grade": body.get("grade") or "", "source": source})
    grades = dict(Finding.objects.filter(id__in=ids).values_list("id", "grade"))
    return JsonResponse({"entries": len(entries), "grades": {str(k): v for k, v in
                                                               grades.items()}})


@case_view()
@require_GET
def api_findings(request: HttpRequest, case: Case) -> JsonResponse:
    q = Query.from_params(request.GET)
    tiles, total = page_of(case, q)
    record("view", request=request, obj=case, detail={"api": "review", "query": q.params()})
    return JsonResponse({"total": total, "page": q.page, "page_size": PAGE, "findings": tiles})


@case_view()
def api_finding(request: HttpRequest, case: Case, finding_id: int) -> HttpResponse:
    finding = _finding(request, case, finding_id)  # first: a stranger's finding is a 404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    record("view", request=request, obj=finding, detail={"case": case.pk, "api": "review"})
    return JsonResponse({
        "id": finding.pk, "record": finding.record, "grade": finding.grade,
        "pregrade": finding.pregrade, "suggestion": finding.suggestion,
        "suggestion_source": finding.suggestion_source, "stack": finding.stack,
        "grades": [_grade_json(g) for g in finding.grades.order_by("at", "pk")],
    })


@case_view()
@require_http_methods(["GET", "POST"])
def api_stack(request: HttpRequest, case: Case, stack_id: int) -> JsonResponse:
    """GET: the stack's members. POST {"grade": "A", "note": ""}: grade them all."""
    members = list(Finding.objects.filter(case=case, stack=stack_id).order_by("id"))
    if not members:
        deny(request, "stack", stack_id)
    if request.method == "POST":
        body = _body(request)
        try:
            grading.apply(case, [m.pk for m in members], action="grade",
                          grade=str(body.get("grade") or ""), note=str(body.get("note") or ""),
                          user=request.user, source="stack")
        except grading.GradeError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        record("grade", request=request, object_type="stack", object_id=str(stack_id),
               detail={"case": case.pk, "findings": [m.pk for m in members],
                       "grade": body.get("grade")})
        members = list(Finding.objects.filter(case=case, stack=stack_id).order_by("id"))
    return JsonResponse({"stack": stack_id, "members": [
        {"id": m.pk, "path": m.path, "sha1": m.sha1, "grade": m.grade} for m in members]})


@case_view()
@require_http_methods(["GET", "POST"])
def exposure(request: HttpRequest, case: Case) -> JsonResponse:
    """POST {"seconds": n}: time the gallery of this case was on screen (the page sends it
    while it is visible). GET: this reviewer's totals today."""
    today = timezone.localdate()
    if request.method == "POST":
        seconds = _body(request).get("seconds")
        if isinstance(seconds, int) and 0 < seconds <= 300:
            row, _ = Exposure.objects.get_or_create(user=request.user, case=case, day=today)
            Exposure.objects.filter(pk=row.pk).update(seconds=F("seconds") + seconds)
    total = Exposure.objects.filter(user=request.user, day=today).aggregate(
        s=Sum("seconds"))["s"] or 0
    revealed = Reveal.objects.filter(user=request.user, at__date=today).count()
    return JsonResponse({"seconds_today": total, "revealed_today": revealed,
                         "break_seconds": _break_minutes(request.user) * 60})


@case_view()
@require_GET
def disputes(request: HttpRequest, case: Case) -> HttpResponse:
    record("view", request=request, obj=case, detail={"page": "disputes"})
    rows = [(f, f.grades.order_by("at", "pk")) for f in grading.disputed(case)]
    return render(request, "review/disputes.html", {"case": case, "rows": rows,
                                                    "role": role_of(request.user)})


# --- welfare and the reviewer's own settings (not case data) -------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def welfare(request: HttpRequest) -> HttpResponse:
    from fellwatch.web.records.access import officer_of, visible_cases

    officer = officer_of(request.user)
    if officer is None:
        deny(request, "welfare", "page", status=403)
    assert officer is not None
    setting, _ = ReviewerSetting.objects.get_or_create(user=request.user)
    if request.method == "POST":
        blur = request.POST.get("blur", "")
        minutes = request.POST.get("break_minutes", "")
        if blur.isdigit() and int(blur) <= 64:
            setting.blur = int(blur)
        if minutes.isdigit() and int(minutes) <= 600:
            setting.break_minutes = int(minutes)
        setting.save()
        record("change", request=request, object_type="reviewersetting",
               object_id=str(setting.pk), detail={"blur": setting.blur,
                                                  "break_minutes": setting.break_minutes})
    since = timezone.localdate() - timedelta(days=30)
    mine = {
        "seconds": Exposure.objects.filter(user=request.user, day__gte=since)
        .aggregate(s=Sum("seconds"))["s"] or 0,
        "revealed": Reveal.objects.filter(user=request.user, at__date__gte=since).count(),
    }
    # What came of the cases they graded: charges and children safeguarded (research finds
    # that knowing the outcome of their work protects reviewers).
    graded_cases = visible_cases(request.user).filter(grades__by=request.user).distinct()
    outcomes = graded_cases.annotate(
        charged=Count("arrests", filter=Q(arrests__outcome="charged"), distinct=True),
        safeguarded=Count("safeguarding", distinct=True))
    unit_rows: list[Any] = []
    if officer.role == Role.SUPERVISOR:
        # Aggregates per reviewer: totals only, never what they looked at.
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.filter(officer__unit=officer.unit)
        for u in users.order_by("username"):
            s = Exposure.objects.filter(user=u, day__gte=since).aggregate(s=Sum("seconds"))["s"]
            r = Reveal.objects.filter(user=u, at__date__gte=since).count()
            if s or r:
                unit_rows.append({"user": u.get_username(), "seconds": s or 0, "revealed": r})
    return render(request, "review/welfare.html", {
        "mine": mine, "outcomes": outcomes, "unit_rows": unit_rows, "setting": setting,
        "unit_blur": settings.REVIEW_BLUR, "unit_break": settings.REVIEW_BREAK_MINUTES,
        "role": officer.role})


@login_required
@require_http_methods(["GET", "POST"])
def library(request: HttpRequest) -> HttpResponse:
    """The unit's seen-before library (supervisors): its size, and making its grades final for
    exact copies in later cases."""
    from fellwatch.web.records.access import officer_of
    from fellwatch.web.review.library import make_final
    from fellwatch.web.review.models import LibraryEntry

    officer = officer_of(request.user)
    if officer is None or officer.role != Role.SUPERVISOR:
        deny(request, "library", "unit", status=403)
    assert officer is not None
    entries = LibraryEntry.objects.filter(unit=officer.unit)
    made = None
    if request.method == "POST":
        made = make_final(officer.unit)
        record("change", request=request, object_type="library", object_id=str(officer.unit_id),
               detail={"final": made})
    by_grade = dict(entries.values_list("grade").annotate(n=Count("id")).order_by())
    return render(request, "review/library.html", {
        "role": officer.role, "total": entries.count(), "by_grade": sorted(by_grade.items()),
        "final": entries.filter(final=True).count(), "made": made})
