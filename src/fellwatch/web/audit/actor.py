"""Who is acting right now: the request being served, or a named user of the command line.

Kept in a context variable so that every save of case data can be audited where it happens
(`records.signals`), whichever path (a view, a CSV import, a scan import) made it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Actor:
    request: HttpRequest | None = None
    username: str | None = None


_current: ContextVar[Actor | None] = ContextVar("fellwatch_actor", default=None)


def current() -> Actor | None:
    return _current.get()


@contextmanager
def acting_as(username: str) -> Iterator[None]:
    token = _current.set(Actor(username=username))
    try:
        yield
    finally:
        _current.reset(token)


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(Actor(request=request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
