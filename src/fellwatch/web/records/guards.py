"""A void case's many-to-many links (who is assigned to it, its offence types) are read-only
like the rest of it. They are rows of through tables, which a record's save never sees: the
related managers (add, remove, set, clear, from either side) are refused at `m2m_changed`,
and a through row written or deleted directly (a script, a cascade) at its own save and
delete, with the case's one wording (`void_case_refusal`)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import m2m_changed, pre_delete, pre_save

from fellwatch.web.records.models import Case, ReadOnlyRecordError, void_case_refusal

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


def _through_row(sender: type[models.Model], instance: Any, raw: bool = False,
                 **kwargs: Any) -> None:
    if raw:  # loaddata restores what was, it does not change it
        return
    _refuse_void([instance.case_id])


def connect() -> None:
    for link in CASE_LINKS:
        through = link.through
        uid = f"void-read-only-{through.__name__}"
        m2m_changed.connect(_links_changing, sender=through, dispatch_uid=uid)
        pre_save.connect(_through_row, sender=through, dispatch_uid=uid)
        pre_delete.connect(_through_row, sender=through, dispatch_uid=uid)
