"""Review records: grades (append-only), reveals, exposure, the unit's seen-before library and
each reviewer's own settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from fellwatch.web.audit.models import AppendOnlyError
from fellwatch.web.records.models import Case, Finding, Unit


class GradeAction(models.TextChoices):
    GRADE = "grade", "Grade"
    CONFIRM = "confirm", "Confirm"
    DISPUTE = "dispute", "Dispute"


class Grade(models.Model):
    """One decision on a finding. Append-only: a change of mind is a new entry; the latest
    grade entry counts (`Finding.grade` holds it), confirmations and disputes sit beside it."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="grades")
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="grades")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.PROTECT, related_name="grades")
    by_name = models.CharField(max_length=150, help_text="user name, or where it came from")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=8, choices=GradeAction.choices,
                              default=GradeAction.GRADE)
    grade = models.CharField(max_length=1, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    source = models.CharField(max_length=16, default="gallery",
                              help_text="gallery, stack, bulk, api, library")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["finding", "at"], name="grade_finding_at")]

    def __str__(self) -> str:
        return f"{self.action} {self.grade} on finding {self.finding_id} by {self.by_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("grades are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("grades are append-only")


class Reveal(models.Model):
    """A person asked to see one item unblurred (or its original): the grant, and the welfare
    count. Each is in the audit log as well."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="reveals")
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="reveals")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reveals")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=10, default="thumbnail", help_text="thumbnail, original")

    class Meta:
        indexes = [models.Index(fields=["user", "finding", "at"], name="reveal_grant")]


class Exposure(models.Model):
    """Seconds a reviewer had the gallery on screen, per case and day (welfare)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="exposure")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="exposure")
    day = models.DateField()
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "case", "day"],
                                               name="exposure_unique")]


class ReviewerSetting(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="review_setting")
    blur = models.PositiveSmallIntegerField(default=0, help_text="0: the unit's default")
    break_minutes = models.PositiveSmallIntegerField(default=0, help_text="0: the unit's default")


class LibraryEntry(models.Model):
    """The unit's own seen-before library: a graded picture, by its digests and PDQ."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="library")
    md5 = models.CharField(max_length=32, blank=True)
    sha1 = models.CharField(max_length=40, db_index=True)
    pdq = models.CharField(max_length=64, blank=True)
    grade = models.CharField(max_length=1)
    by_name = models.CharField(max_length=150)
    at = models.DateTimeField()
    case_reference = models.CharField(max_length=64)
    finding = models.ForeignKey(Finding, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    final = models.BooleanField(default=False,
                                help_text="exact matches take this grade without a person")

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["unit", "sha1", "case_reference"],
                                               name="library_one_per_case")]
