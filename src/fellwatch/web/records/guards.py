"""A void case's many-to-many links (who is assigned to it, its offence types) are read-only
like the rest of it. They are rows of through tables, which a record's save never sees, and
Django sends no save or delete signal for an auto-created through table's rows. So: the
related managers (add, remove, set, clear, from either side) are refused at `m2m_changed`;
deleting a user, an offence type or a case that would take such rows with it (the cascade)
is refused at that record's `pre_delete`; a row written to the through table directly is left
to the PostgreSQL trigger (migration 0005), as QuerySet.update() is. One wording, the case's
(`void_case_refusal`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.signals import m2m_changed, pre_delete

from fellwatch.web.records.models import (
    Case,
    OffenceType,
    ReadOnlyRecordError,
    void_case_refusal,
)

CASE_LINKS = (Case.assigned, Case.offence_types)


def _other_end(through: type[models.Model]) -> models.ForeignKey:
    """The through table's link that is not to the case (to the user or the offence type)."""
    return next(field for field in through._meta.concrete_fields
                if isinstance(field, models.ForeignKey) and field.related_model is not Case)


def _refuse_void(case_ids: Any) -> None:
    void = (Case.objects.filter(pk__in=case_ids, voided_at__isnull=False).order_by("pk")
            .values_list("pk", flat=True).first())
    if void is not None:
        raise ReadOnlyRecordError(void_case_refusal(void))


def _links_changing(sender: type[models.Model], instance: Any, action: str, reverse: bool,
                    pk_set: set[int] | None, **kwargs: Any) -> None:
    if not action.startswith("pre_"):
        return
    if not reverse:
        _refuse_void([instance.pk])
    elif pk_set is not None:
        _refuse_void(pk_set)
    else:  # user.assigned_cases.clear(): every case the user or offence type is linked to
        other = _other_end(sender)
        _refuse_void(sender._default_manager.filter(**{other.attname: instance.pk})
                     .values_list("case_id", flat=True))


def _deleting(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    """A user, an offence type or a case about to be deleted, its through rows with it."""
    if isinstance(instance, Case):
        _refuse_void([instance.pk])
        return
    for link in CASE_LINKS:
        other = _other_end(link.through)
        if isinstance(instance, other.related_model):
            _refuse_void(link.through._default_manager.filter(**{other.attname: instance.pk})
                         .values_list("case_id", flat=True))


def connect() -> None:
    for link in CASE_LINKS:
        m2m_changed.connect(_links_changing, sender=link.through,
                            dispatch_uid=f"void-read-only-{link.through.__name__}")
    for model in (Case, OffenceType, get_user_model()):
        pre_delete.connect(_deleting, sender=model,
                           dispatch_uid=f"void-read-only-delete-{model.__name__}")
