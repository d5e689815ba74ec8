"""Every create and change of case data is audited where it is saved."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_save, pre_save

from fellwatch.web.audit import actor
from fellwatch.web.audit.log import record
from fellwatch.web.records import models as m

AUDITED = (m.Operation, m.Case, m.Person, m.SearchWarrant, m.Arrest, m.Exhibit, m.CustodyEntry,
           m.Evidence, m.Scan, m.SafeguardingRecord, m.Officer, m.Unit, m.OffenceType)


def _actor() -> tuple[Any, str | None]:
    who = actor.current()
    if who is not None and who.request is not None:
        return who.request, None
    if who is not None:
        return None, who.username or "system"
    return None, "system"


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _fields(instance: Any) -> dict[str, Any]:
    return {f.attname: _plain(getattr(instance, f.attname)) for f in instance._meta.concrete_fields
            if f.attname not in ("password",)}


def _before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """The stored row before a change, so the audit entry can say what changed from what."""
    if raw or instance.pk is None or instance._state.adding:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _fields(old) if old is not None else None


def _changes(instance: Any) -> dict[str, list[Any]]:
    before = getattr(instance, "_audit_before", None)
    if before is None:
        return {}
    after = _fields(instance)
    return {name: [before.get(name), value] for name, value in after.items()
            if before.get(name) != value and name != "last_login"}


def _saved(sender: Any, instance: Any, created: bool, raw: bool = False,
           update_fields: Any = None, **kwargs: Any) -> None:
    if raw:  # loaddata
        return
    if update_fields is not None and set(update_fields) == {"last_login"}:
        return  # every log-in; the log-in itself is audited

    request, username = _actor()
    detail: dict[str, Any] = {"case": _case_id(instance)}
    if not created:
        detail["changes"] = _changes(instance)
        if "voided_at" in detail["changes"] and instance.voided_at is not None:
            detail["void_reason"] = instance.void_reason
    record(
        "void" if not created and "void_reason" in detail else
        "create" if created else "change",
        request=request,
        username=username,
        obj=instance,
        detail=detail,
    )


def _case_id(instance: Any) -> int | None:
    if isinstance(instance, m.Case):
        return int(instance.pk)
    if isinstance(instance, m.CustodyEntry | m.Evidence | m.Scan):
        return int(instance.exhibit.case_id)
    case_id = getattr(instance, "case_id", None)
    return int(case_id) if case_id is not None else None


def _case_links_changed(sender: Any, instance: Any, action: str, reverse: bool,
                        model: Any, pk_set: set[int] | None, **kwargs: Any) -> None:
    """Who is assigned to a case decides who sees it: each change of it is audited."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    field = "assigned" if sender is m.Case.assigned.through else "offence_types"
    request, username = _actor()
    cases = [instance.pk] if not reverse else sorted(pk_set or [])
    references = dict(m.Case.objects.filter(pk__in=cases).values_list("pk", "reference"))
    for case_id in cases:
        verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
        record("change", request=request, username=username, object_type="case",
               object_id=str(case_id),
               detail={"case": case_id, "field": field, "action": action.removeprefix("post_"),
                       "ids": [instance.pk] if reverse else sorted(pk_set or []),
                       "what": f"case {references.get(case_id, case_id)} {field} {verb}"})


def connect() -> None:
    from django.contrib.auth import get_user_model

    # Users too: who is staff, active or superuser is part of who sees what.
    for model in (*AUDITED, get_user_model()):
        pre_save.connect(_before, sender=model, dispatch_uid=f"audit-before-{model.__name__}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"audit-{model.__name__}")
    for through in (m.Case.assigned.through, m.Case.offence_types.through):
        m2m_changed.connect(_case_links_changed, sender=through,
                            dispatch_uid=f"audit-{through.__name__}")
