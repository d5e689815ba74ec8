"""Every create and change of case data is audited where it is saved."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from fellwatch.web.audit import actor
from fellwatch.web.audit.log import record
from fellwatch.web.records import models as m

AUDITED = (m.Operation, m.Case, m.Person, m.SearchWarrant, m.Arrest, m.Exhibit, m.CustodyEntry,
           m.Evidence, m.Scan, m.SafeguardingRecord, m.Officer, m.Unit, m.OffenceType)


def _saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata
        return
    who = actor.current()
    request: Any = None
    username: str | None = "system"
    if who is not None and who.request is not None:
        request, username = who.request, None
    elif who is not None:
        username = who.username or "system"
    record(
        "create" if created else "change",
        request=request,
        username=username,
        obj=instance,
        detail={"case": _case_id(instance)},
    )


def _case_id(instance: Any) -> int | None:
    if isinstance(instance, m.Case):
        return int(instance.pk)
    if isinstance(instance, m.CustodyEntry | m.Evidence | m.Scan):
        return int(instance.exhibit.case_id)
    case_id = getattr(instance, "case_id", None)
    return int(case_id) if case_id is not None else None


def connect() -> None:
    for model in AUDITED:
        post_save.connect(_saved, sender=model, dispatch_uid=f"audit-{model.__name__}")
