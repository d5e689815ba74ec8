"""Who sees which case. One place decides; every view asks here.

- examiner, reviewer: the cases they are assigned to (or in charge of);
- supervisor: every case of their unit;
- auditor: every case of their unit, read-only;
- administrator: reference data and users (the admin), no case data unless assigned.

A refusal is logged in the audit log and answered 404 (the case's existence is not revealed),
or 403 for a read-only user trying to change a case they may read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from fellwatch.web.audit.log import record
from fellwatch.web.records.models import Case, Officer, Operation, Role

View = TypeVar("View", bound=Callable[..., HttpResponse])


def officer_of(user: Any) -> Officer | None:
    if not user.is_authenticated:
        return None
    try:
        officer: Officer = user.officer
    except Officer.DoesNotExist:
        return None
    return officer


def role_of(user: Any) -> str | None:
    officer = officer_of(user)
    return officer.role if officer is not None else None


def can_write(user: Any) -> bool:
    return role_of(user) in (Role.EXAMINER, Role.REVIEWER, Role.SUPERVISOR)


def visible_cases(user: Any) -> QuerySet[Case]:
    officer = officer_of(user)
    if officer is None:
        return Case.objects.none()
    if officer.role in (Role.SUPERVISOR, Role.AUDITOR):
        return Case.objects.filter(unit=officer.unit)
    return Case.objects.filter(Q(assigned=user) | Q(officer_in_charge=user)).distinct()


def visible_operations(user: Any) -> QuerySet[Operation]:
    officer = officer_of(user)
    if officer is None or officer.role == Role.ADMINISTRATOR:
        return Operation.objects.none()
    return Operation.objects.filter(unit=officer.unit)


def deny(request: HttpRequest, what: str, ident: Any, status: int = 404) -> None:
    """Log the refusal, then raise what the client sees."""
    record("denied", request=request, object_type=what, object_id=str(ident),
           detail={"method": request.method, "status": status})
    if status == 403:
        raise PermissionDenied(f"{what} is read-only for you")
    raise Http404(f"no such {what}")


def case_view(write: bool = False) -> Callable[[View], View]:
    """Decorate a view taking `case_id`: it receives the Case instead, or the request is refused
    (and the refusal logged). `write` views also refuse read-only roles; a POST to any case
    view needs write access."""
    return _guarded("case", visible_cases, write)


def operation_view(write: bool = False) -> Callable[[View], View]:
    """The same guard for an operation's views."""
    return _guarded("operation", visible_operations, write)


def _guarded(
    what: str, visible: Callable[[Any], QuerySet[Any]], write: bool
) -> Callable[[View], View]:
    """Views of one object by its `<what>_id`: 404 (logged) unless the user may see it, 403
    (logged) for a change by a read-only role. The view receives the object instead of its id."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            object_id = kwargs.pop(f"{what}_id")  # the URL names it case_id, operation_id
            found = visible(request.user).filter(pk=object_id).first()
            if found is None:
                deny(request, what, object_id)
            if (write or request.method not in ("GET", "HEAD")) and not can_write(request.user):
                deny(request, what, object_id, status=403)
            return view(request, found, **kwargs)

        return wrapped

    return decorator


def child_of(request: HttpRequest, queryset: QuerySet[Any], what: str, ident: Any) -> Any:
    """An object that must belong to the case (or operation) already checked; else a logged 404."""
    obj = queryset.filter(pk=ident).first()
    if obj is None:
        deny(request, what, ident)
    return obj
