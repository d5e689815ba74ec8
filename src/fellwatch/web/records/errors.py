"""Error pages in the site's own frame (navigation, who is logged in), saying what happened
and where to go next, never a bare "Bad Request (400)"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fellwatch.web.records.access import role_of


def _page(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    user = getattr(request, "user", None)
    try:
        return render(request, "records/error.html", {
            "status": status, "title": title, "text": text,
            "role": role_of(user) if user is not None else None}, status=status)
    except Exception:  # an error page must never fail in turn
        return HttpResponse(f"{status} {title}\n{text}\n", status=status,
                            content_type="text/plain; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return _page(request, 400, "Too much at once",
                     f"What was sent is larger than the {limit} MB a form may carry. Go back: "
                     "your browser still holds what you typed; shorten the longest field "
                     "(a note may be 20 000 characters) and save again.")
    return _page(request, 400, "The request could not be read",
                 "Go back and try again; if it happens again, tell the administrator.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, "Not for your role",
                 "Your role does not allow this. A supervisor can change what you may do.")


def read_only(request: HttpRequest, reason: str) -> HttpResponse:
    """A change refused because the record, or its case, is void: the reason (the model's own
    words), and that nothing was changed."""
    return _page(request, 403, "Void: read-only",
                 f"{reason} Nothing was changed. A void record stays on its case page and in "
                 "the audit log.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # The same words for "does not exist" and "not yours to see": access is not revealed.
    return _page(request, 404, "Not found",
                 "There is no such page, or it is not one you may open.")


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return _page(request, 500, "Something went wrong",
                 "The error has been logged. Nothing was saved from this request.")
