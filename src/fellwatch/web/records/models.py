"""The unit's records: operations, cases, persons, warrants, arrests, exhibits and their chain of
custody, evidence, scans and findings, safeguarding records. Vocabulary as ARCHITECTURE.md."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.utils import timezone

from fellwatch.web.audit.models import AppendOnlyError

# Long free text (notes, summaries, outcomes): a limit the form states and checks, well below
# what a request may carry (settings.DATA_UPLOAD_MAX_MEMORY_SIZE), so an over-long field is an
# error next to it with everything else kept, never a bare "400 Bad Request".
LONG_TEXT = 20_000
# Clock skew between an officer's device and the server: a "now" typed a minute ahead is no
# future date.
SKEW = timedelta(minutes=10)
OLDEST_PERSON_YEARS = 120
AGE_OF_CRIMINAL_RESPONSIBILITY = 10  # England and Wales


def long_text(**kwargs: Any) -> models.TextField:
    return models.TextField(max_length=LONG_TEXT, validators=[MaxLengthValidator(LONG_TEXT)],
                            **kwargs)


def not_after_today(value: date | None) -> None:
    """The one rule every record's dates share: what happened cannot have happened tomorrow."""
    if value is not None and value > timezone.localdate():
        raise ValidationError("This date is after today.", code="future")


def not_in_future(value: Any) -> None:
    if value is not None and value > timezone.now() + SKEW:
        raise ValidationError("This time is in the future.", code="future")


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def natural_key(reference: str) -> str:
    """A sortable form of an exhibit reference: JE/2 before JE/10 (digits zero-padded), kept in
    the database so lists sort and page there on SQLite and PostgreSQL alike."""
    return re.sub(r"\d+", lambda m: m.group(0).zfill(12), reference.strip().casefold())[:200]


class ReadOnlyRecordError(ValidationError):
    """A void record, or a record of a void case, was about to be added or changed. A
    ValidationError, so a form and the CSV import show its one line like any other refusal."""

    def __init__(self, text: str) -> None:
        super().__init__({NON_FIELD_ERRORS: [ValidationError(text, code="void")]})
        self.text = text

    def __str__(self) -> str:
        return self.text


def void_case_refusal(case_id: int | None) -> str:
    """Why nothing may be added to or changed under case `case_id`: it is void (as stored, so
    a page opened before the void cannot write after it). Empty when it is not."""
    if case_id is None:
        return ""
    row = (Case.objects.filter(pk=case_id, voided_at__isnull=False)
           .values_list("reference", "void_reason").first())
    if row is None:
        return ""
    return (f"Case {row[0]} is void ({row[1]}): it and everything recorded under it are "
            "read-only.")


def voidable_links(model: type[models.Model]) -> list[models.ForeignKey]:
    """`model`'s own links (foreign keys) to voidable records: what `void_link_refusal` checks,
    found from the model so that a link added later is checked too."""
    return [field for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey) and isinstance(field.related_model, type)
            and issubclass(field.related_model, Voidable)]


def void_link_refusal(record: models.Model) -> str:
    """Why `record` may not be saved with the links it has: it belongs to a void case (the
    case's wording), or a link that is new or changed points at a void record (a person, a
    warrant, ...). Empty when it may. A link made before its record was voided is kept: the
    record may still be corrected or voided itself. The forms offer no void record to link;
    this is the rule behind them for the CSV import, the admin and scripts."""
    links = voidable_links(type(record))
    stored: dict[str, Any] = {}
    if links and not record._state.adding and record.pk is not None:
        stored = (type(record)._default_manager.filter(pk=record.pk)
                  .values(*(field.attname for field in links)).first() or {})
    for field in links:
        target_id = getattr(record, field.attname)
        if target_id is None:
            continue
        if field.related_model is Case:  # everything under a void case is read-only
            refusal = void_case_refusal(target_id)
            if refusal:
                return refusal
            continue
        if stored.get(field.attname) == target_id:
            continue
        target = (field.related_model._default_manager
                  .filter(pk=target_id, voided_at__isnull=False).first())
        if target is not None:
            label = target.audit_label() if hasattr(target, "audit_label") else str(target)
            return (f"{label[:1].upper()}{label[1:]} is void ({target.void_reason}): no record "
                    "may be linked to it.")
    return ""


class Voidable(models.Model):
    """No hard delete of case data: a supervisor voids a wrong record with a reason. A voided
    record drops out of the figures and lists, stays on its case page struck through and in the
    audit trail. It is read-only from then on, and so is everything of a void case: the model
    refuses the save itself, so no form, CSV import, admin page or script writes past it."""

    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_by = models.CharField(max_length=150, blank=True, editable=False)
    void_reason = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    def read_only_reason(self) -> str:
        """Why this record may not be saved: it is void as stored (voiding it is the last
        change it takes), the case it belongs to is, or it is being linked to a void record
        (`void_link_refusal`). Empty when it may."""
        if self.pk is not None:
            stored = (type(self)._default_manager.filter(pk=self.pk, voided_at__isnull=False)
                      .values_list("void_reason", flat=True).first())
            if stored is not None:
                return (f"This {self._meta.verbose_name} is void ({stored}) and cannot be "
                        "changed.")
        return void_link_refusal(self)

    def full_clean(self, exclude: Any = None, validate_unique: bool = True,
                   validate_constraints: bool = True) -> None:
        # First and alone: field errors on a record that may not change at all are noise.
        reason = self.read_only_reason()
        if reason:
            raise ReadOnlyRecordError(reason)
        super().full_clean(exclude=exclude, validate_unique=validate_unique,
                           validate_constraints=validate_constraints)

    def save(self, *args: Any, **kwargs: Any) -> None:
        reason = self.read_only_reason()
        if reason:
            raise ReadOnlyRecordError(reason)
        super().save(*args, **kwargs)


class Unit(models.Model):
    name = models.CharField(max_length=120, unique=True)

    def __str__(self) -> str:
        return str(self.name)


class Role(models.TextChoices):
    EXAMINER = "examiner", "Examiner"
    REVIEWER = "reviewer", "Reviewer"
    SUPERVISOR = "supervisor", "Supervisor"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"


class Officer(models.Model):
    """A user's place in the unit: their role decides what they may see and do."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="officer")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="officers")
    role = models.CharField(max_length=16, choices=Role.choices)
    collar_number = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role}, {self.unit})"

    @property
    def display_name(self) -> str:
        return officer_name(self.user)


def officer_name(user: Any) -> str:
    """How the records name an officer: full name and collar number ("Erin Example (PC 1234)"),
    the user name only where no name is recorded."""
    if user is None:
        return ""
    name = user.get_full_name() or user.get_username()
    try:
        collar = user.officer.collar_number
    except Officer.DoesNotExist:
        collar = ""
    return f"{name} ({collar})" if collar else str(name)


class OffenceType(models.Model):
    """Configurable list (admin); seeded with the unit's usual offences."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return str(self.name)

    @classmethod
    def ensure_defaults(cls) -> None:
        """The unit's usual offences (settings.DEFAULT_OFFENCE_TYPES), where missing."""
        for code, name in settings.DEFAULT_OFFENCE_TYPES:
            cls.objects.get_or_create(code=code, defaults={"name": name})


class Operation(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="operations")
    name = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    lead_officer = models.CharField(max_length=150, help_text="name and collar number")
    notes = long_text(blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="operation_unique")]

    def __str__(self) -> str:
        return str(self.name)

    def audit_label(self) -> str:
        return f"operation {self.name}"

    def clean(self) -> None:
        # An operation is planned ahead (a week of action next month), so its dates may lie
        # ahead; a year ahead is a typing error.
        limit = timezone.localdate() + timedelta(days=366)
        errors: dict[str, str] = {}
        for name in ("starts_on", "ends_on"):
            value = getattr(self, name)
            if value and value > limit:
                errors[name] = "More than a year ahead: is the year right?"
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = "An operation cannot end before it starts."
        if errors:
            raise ValidationError(errors)


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    AWAITING_EXAMINATION = "awaiting-examination", "Awaiting examination"
    WITH_CPS = "with-cps", "With CPS"
    CLOSED = "closed", "Closed"


class Case(Voidable):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(max_length=64)
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="cases")
    offence_types = models.ManyToManyField(OffenceType, blank=True, related_name="cases")
    status = models.CharField(max_length=24, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_on = models.DateField(validators=[not_after_today])
    closed_on = models.DateField(null=True, blank=True, validators=[not_after_today])
    officer_in_charge = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="cases_in_charge")
    assigned = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                      related_name="assigned_cases")
    summary = long_text(blank=True)

    class Meta:
        ordering = ["-opened_on", "reference"]
        # Unique within the unit: another unit's references are none of this unit's business,
        # and a clash with one must not confirm that it exists.
        constraints = [models.UniqueConstraint(fields=["unit", "reference"],
                                               name="case_reference_unique_in_unit")]

    def __str__(self) -> str:
        return str(self.reference)

    def audit_label(self) -> str:
        return f"case {self.reference}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.closed_on and self.opened_on and self.closed_on < self.opened_on:
            errors["closed_on"] = "A case cannot close before it opened."
        # The closed figure counts closing dates: a closed case needs one, an open one none.
        elif self.status == CaseStatus.CLOSED and not self.closed_on:
            errors["closed_on"] = "A closed case needs the date it closed."
        elif self.closed_on and self.status and self.status != CaseStatus.CLOSED:
            errors["status"] = "A case with a closing date is closed."
        if errors:
            raise ValidationError(errors)


class PersonRole(models.TextChoices):
    SUSPECT = "suspect", "Suspect"
    WITNESS = "witness", "Witness"
    OTHER = "other", "Other"


class Person(Voidable):
    """Only what a case needs. Children at risk are *not* persons: see SafeguardingRecord."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="persons")
    role = models.CharField(max_length=16, choices=PersonRole.choices, default=PersonRole.SUSPECT)
    name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True, validators=[not_after_today])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"

    def audit_label(self) -> str:
        return f"person {self.name} (case {self.case.reference})"

    def clean(self) -> None:
        dob = self.date_of_birth
        if dob is None:
            return
        today = timezone.localdate()
        if dob < years_before(today, OLDEST_PERSON_YEARS):
            raise ValidationError({"date_of_birth":
                                   f"More than {OLDEST_PERSON_YEARS} years ago: is the year "
                                   "right?"})
        youngest = years_before(today, AGE_OF_CRIMINAL_RESPONSIBILITY)
        if self.role == PersonRole.SUSPECT and dob > youngest:
            raise ValidationError({"date_of_birth":
                                   f"A suspect is at least {AGE_OF_CRIMINAL_RESPONSIBILITY} "
                                   "years old (the age of criminal responsibility)."})


class WarrantResult(models.TextChoices):
    PENDING = "pending", "Not yet executed"
    SEIZED = "seized", "Executed, items seized"
    NOTHING = "nothing", "Executed, nothing seized"
    NO_TRACE = "no-trace", "Executed, no trace of subject"
    NOT_EXECUTED = "not-executed", "Not executed (expired or withdrawn)"


class SearchWarrant(Voidable):
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="warrants")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="warrants")
    address = models.CharField(max_length=300)
    issued_on = models.DateField(validators=[not_after_today])
    executed_on = models.DateField(null=True, blank=True, validators=[not_after_today])
    result = models.CharField(max_length=16, choices=WarrantResult.choices,
                              default=WarrantResult.PENDING)

    class Meta:
        ordering = ["issued_on", "pk"]

    def __str__(self) -> str:
        return f"Warrant {self.address} ({self.issued_on})"

    def audit_label(self) -> str:
        return f"warrant {self.address}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.case_id is None and self.operation_id is None:
            errors["address"] = "A warrant belongs to an operation or a case."
        if self.executed_on and self.issued_on and self.executed_on < self.issued_on:
            errors["executed_on"] = "A warrant cannot be executed before it was issued."
        # The executed figure counts execution dates: they must agree with the result.
        unexecuted = (WarrantResult.PENDING, WarrantResult.NOT_EXECUTED)
        if self.executed_on and self.result in unexecuted:
            errors["result"] = "An executed warrant needs the result of its execution."
        if not self.executed_on and self.result and self.result not in unexecuted:
            errors["executed_on"] = "When was it executed?"
        if errors:
            raise ValidationError(errors)


class ArrestOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    CHARGED = "charged", "Charged (bailed to court)"
    CHARGED_REMANDED = "charged-remanded", "Charged and remanded in custody"
    CAUTION = "caution", "Caution"
    VOLUNTARY_INTERVIEW = "voluntary-interview", "De-arrested for a voluntary interview"
    RUI = "rui", "Released under investigation"
    BAIL = "bail", "Bail"
    NFA = "nfa", "No further action"


class Arrest(Voidable):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="arrests")
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="arrests")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="arrests")
    arrested_on = models.DateField(validators=[not_after_today])
    arrested_at = models.TimeField(null=True, blank=True, help_text="time of arrest")
    custody_record = models.CharField(max_length=64, blank=True,
                                      help_text="custody record number")
    arresting_officer = models.CharField(max_length=150, blank=True,
                                         help_text="name and collar number")
    offence = models.ForeignKey(OffenceType, on_delete=models.PROTECT, related_name="arrests")
    outcome = models.CharField(max_length=20, choices=ArrestOutcome.choices,
                               default=ArrestOutcome.PENDING)

    class Meta:
        ordering = ["arrested_on", "arrested_at", "pk"]

    def __str__(self) -> str:
        return f"Arrest of {self.person.name} on {self.arrested_on}"

    def audit_label(self) -> str:
        return f"arrest of {self.person.name} on {self.arrested_on} (case {self.case.reference})"

    def clean(self) -> None:
        # The person must be one of this case's: a choice from elsewhere is refused here too.
        if self.person_id and self.case_id and self.person.case_id != self.case_id:
            raise ValidationError({"person": "Choose a person of this case."})
        if (self.arrested_on and self.arrested_at
                and self.arrested_on == timezone.localdate()
                and self.arrested_at > (timezone.localtime() + SKEW).time()):
            raise ValidationError({"arrested_at": "This time is in the future."})


class ExhibitType(models.TextChoices):
    PHONE = "phone", "Phone"
    LAPTOP = "laptop", "Laptop"
    TABLET = "tablet", "Tablet"
    USB = "usb", "USB stick"
    SD = "sd", "SD card"
    HDD = "hdd", "Hard drive"
    OTHER = "other", "Other"


class Exhibit(Voidable):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="exhibits")
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="exhibits")
    warrant = models.ForeignKey(SearchWarrant, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="exhibits")
    reference = models.CharField(max_length=64, help_text="e.g. JD/1")
    reference_sort = models.CharField(max_length=200, editable=False, default="", db_index=True)
    type = models.CharField(max_length=8, choices=ExhibitType.choices)
    make = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    seal_number = models.CharField(max_length=64, blank=True)
    seized_from = models.CharField(max_length=200, blank=True, help_text="person")
    seized_where = models.CharField(max_length=300, blank=True)
    seized_at = models.DateTimeField(validators=[not_in_future])
    seized_by = models.CharField(max_length=150, help_text="name and collar number")

    class Meta:
        ordering = ["reference_sort", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "reference"], name="exhibit_unique_in_case"),
        ]

    def __str__(self) -> str:
        return str(self.reference)

    def audit_label(self) -> str:
        return f"exhibit {self.reference} (case {self.case.reference})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.reference_sort = natural_key(self.reference)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.warrant_id and self.case_id:
            warrant = self.warrant
            case = self.case
            ok = warrant.case_id == case.pk or (
                warrant.case_id is None and warrant.operation_id is not None
                and warrant.operation_id == case.operation_id)
            if not ok:
                raise ValidationError({"warrant": "Choose a warrant of this case or of its "
                                                  "operation."})


class CustodyAction(models.TextChoices):
    SEIZED = "seized", "Seized"
    MOVED = "moved", "Moved"
    ACCESSED = "accessed", "Accessed"
    IMAGED = "imaged", "Imaged"
    EXAMINED = "examined", "Examined"
    RESEALED = "resealed", "Resealed"
    RETURNED = "returned", "Returned"
    DESTROYED = "destroyed", "Destroyed"


FINAL_DISPOSALS = (CustodyAction.RETURNED, CustodyAction.DESTROYED)


def sha256_hex(value: str) -> None:
    if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
        raise ValidationError("A SHA-256 is 64 hexadecimal digits.", code="sha256")


def _when(at: Any) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


def custody_reason(text: str, tail: str = "") -> str:
    """A reason written by the software (an evidence path in it) cut to the field's 300
    characters, `tail` (a warning) kept whole: PostgreSQL refuses a longer one."""
    room = (CustodyEntry._meta.get_field("reason").max_length or 300) - len(tail)
    return (text if len(text) <= room else text[:room - 1] + "…") + tail


def custody_closed_reason(exhibit: Exhibit) -> str:
    """Why nothing at all may be added to `exhibit`'s chain of custody: the exhibit or its
    case is void (as stored). Empty when entries may be added (in time order)."""
    refusal = void_case_refusal(exhibit.case_id)
    if refusal:
        return refusal
    reason = (Exhibit.objects.filter(pk=exhibit.pk, voided_at__isnull=False)
              .values_list("void_reason", flat=True).first())
    if reason is not None:
        return (f"Exhibit {exhibit.reference} is void ({reason}): nothing can be added to its "
                "chain of custody.")
    return ""


def refuse_if_custody_closed(exhibit_id: int | None) -> None:
    """Evidence and scans are recorded on an exhibit as its custody entries are: not on a void
    exhibit, nor on one of a void case."""
    exhibit = Exhibit.objects.filter(pk=exhibit_id).first() if exhibit_id is not None else None
    reason = custody_closed_reason(exhibit) if exhibit is not None else ""
    if reason:
        raise ReadOnlyRecordError(reason)


class CustodyEntry(models.Model):
    """One movement or access of an exhibit. Append-only: a mistake is corrected by a new entry."""

    exhibit = models.ForeignKey(Exhibit, on_delete=models.PROTECT, related_name="custody")
    at = models.DateTimeField(validators=[not_in_future])
    by = models.CharField(max_length=150, help_text="who (user name or officer)")
    action = models.CharField(max_length=16, choices=CustodyAction.choices)
    from_location = models.CharField(max_length=200, blank=True)
    to_location = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)
    seal_intact = models.BooleanField(null=True, blank=True, help_text="unknown when left empty")
    seal_number = models.CharField(max_length=64, blank=True, help_text="seal after this step")
    hash_before = models.CharField(max_length=64, blank=True, help_text="evidence SHA-256",
                                   validators=[sha256_hex])
    hash_after = models.CharField(max_length=64, blank=True, help_text="evidence SHA-256",
                                  validators=[sha256_hex])
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "custody entries"

    def __str__(self) -> str:
        return f"{self.exhibit} {self.action} {self.at:%Y-%m-%d %H:%M}"

    def audit_label(self) -> str:
        return f"exhibit {self.exhibit.reference} custody: {self.action}"

    @property
    def hashes_differ(self) -> bool:
        """Only two recorded hashes can differ: an "imaged" entry has no before-hash."""
        return bool(self.hash_before and self.hash_after and self.hash_before != self.hash_after)

    def clean(self) -> None:
        self.hash_before = (self.hash_before or "").strip().lower()
        self.hash_after = (self.hash_after or "").strip().lower()
        errors: dict[str, str] = {}
        if self.action == CustodyAction.MOVED and not self.to_location:
            errors["to_location"] = "A movement needs the place it went to."
        errors.update(self.chain_errors())
        if errors:
            raise ValidationError(errors)

    def chain_errors(self) -> dict[str, str]:
        """The one check of where this entry may go in its exhibit's chain, asked by the form
        (through clean) and by every save, so the exhibit page, evidence recorded on it, a
        scan import, the CSV import and scripts all keep the same order. Field name → why."""
        if self.exhibit_id is None:
            return {}
        closed = custody_closed_reason(self.exhibit)
        if closed:
            return {NON_FIELD_ERRORS: closed}
        if self.at is None:
            return {}
        # The chain is told in time order: an entry goes after the last one, never before
        # the seizure, and nothing follows a final disposal (returned, destroyed).
        last = self.exhibit.custody.exclude(pk=self.pk).order_by("-at", "-pk").first()
        seized = self.exhibit.seized_at
        if self.action != CustodyAction.SEIZED and seized and self.at < seized:
            return {"at": f"Before the seizure ({_when(seized)})."}
        if last is not None and last.action in FINAL_DISPOSALS:
            return {"action": f"The exhibit was {last.action} on {_when(last.at)}: nothing "
                              "can follow."}
        if last is not None and self.at < last.at:
            return {"at": f"Before the last entry ({_when(last.at)}); a late entry is "
                          "recorded with the time it is made and the real time in its reason."}
        return {}

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("the chain of custody is append-only")
        with transaction.atomic():
            if self.exhibit_id is not None:
                # Two appends at once must not both pass the check against the same last
                # entry: the exhibit's row is the lock (PostgreSQL; SQLite has one writer).
                list(Exhibit.objects.select_for_update().filter(pk=self.exhibit_id)
                     .values_list("pk"))
            errors = self.chain_errors()
            if errors:
                raise ValidationError(errors)
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the chain of custody is append-only")


class Evidence(models.Model):
    """An image or extraction of an exhibit, with its SHA-256."""

    exhibit = models.ForeignKey(Exhibit, on_delete=models.PROTECT, related_name="evidence")
    path = models.CharField(max_length=1000)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=32, blank=True)
    # As findings.json's evidence entry has them (the latest scan's): segments and volumes.
    files = models.JSONField(default=list, blank=True)
    volumes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "evidence"
        constraints = [
            models.UniqueConstraint(fields=["exhibit", "path", "sha256"], name="evidence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.path} ({self.sha256[:12]}…)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        refuse_if_custody_closed(self.exhibit_id)
        super().save(*args, **kwargs)


class Scan(models.Model):
    exhibit = models.ForeignKey(Exhibit, on_delete=models.PROTECT, related_name="scans")
    evidence = models.ManyToManyField(Evidence, related_name="scans")
    out_dir = models.CharField(max_length=1000)
    findings_sha256 = models.CharField(max_length=64, unique=True,
                                       help_text="SHA-256 of the imported findings.json")
    tool_version = models.CharField(max_length=32)
    schema = models.PositiveSmallIntegerField()
    settings = models.JSONField(default=dict)
    summary = models.JSONField(default=dict)
    hashsets = models.JSONField(default=list)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.CharField(max_length=150, blank=True)
    # What the gallery's filters offer (categories of matches and candidates), gathered at
    # import so that no page has to scan 100 000 findings for them.
    facets = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["imported_at", "pk"]

    def __str__(self) -> str:
        return f"Scan {self.pk} of {self.exhibit}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        refuse_if_custody_closed(self.exhibit_id)
        super().save(*args, **kwargs)


class Finding(models.Model):
    """One item of findings.json: matched, known-good, failed, needing review, or a candidate.

    `record` is the item exactly as the engine wrote it (every field: digests, PDQ, path spec,
    EXIF, matches, candidates, error, ...), kept in its own table (`FindingRecord`) so that
    this one stays narrow: the gallery's counts and pages read 100 000 rows of it, and a
    kilobyte of JSON in each row made every such read ten times slower. The columns here are
    copies taken from the item at import, for filters, sorting and counting in the database.
    """

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="findings")
    # The scan's case, copied so that the gallery's queries of a case are served by one index.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="findings")
    evidence_path = models.TextField()
    evidence_index = models.PositiveSmallIntegerField(
        default=0, help_text="position of its evidence in findings.json (keys its thumbnail)")
    key = models.TextField()
    path = models.TextField()
    folder = models.TextField(blank=True, help_text="path up to its last '/'")
    path_spec = models.TextField(null=True, blank=True)
    partition = models.CharField(max_length=200, null=True, blank=True)
    inode = models.BigIntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)
    size = models.BigIntegerField(default=0)
    allocated = models.BooleanField(default=True)
    origin = models.CharField(max_length=16, blank=True)
    in_archive = models.BooleanField(default=False)
    md5 = models.CharField(max_length=32, blank=True)
    sha1 = models.CharField(max_length=40, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pdq = models.CharField(max_length=64, blank=True)
    pdq_quality = models.SmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    media = models.CharField(max_length=8, blank=True, help_text="picture, video or empty")
    date = models.CharField(max_length=32, blank=True,
                            help_text="EXIF date taken, else the file's mtime (ISO 8601)")
    camera = models.CharField(max_length=200, blank=True)
    has_gps = models.BooleanField(default=False)
    exif_lead = models.BooleanField(default=False, help_text="GPS or a camera serial")
    matches = models.JSONField(default=list)
    candidates = models.JSONField(default=list)
    known_bad = models.BooleanField(default=False)
    category = models.CharField(max_length=32, blank=True,
                                help_text="hash-set category of the first known-bad match")
    categories = models.CharField(max_length=300, blank=True,
                                  help_text="every known-bad category, ';'-joined, sorted")
    hashsets = models.CharField(max_length=300, blank=True,
                                help_text="';name;' of every set matched, for filtering")
    candidate_category = models.CharField(max_length=32, blank=True)
    has_candidates = models.BooleanField(default=False)
    known_good = models.BooleanField(default=False)
    review = models.BooleanField(default=False)
    error = models.TextField(null=True, blank=True)
    carved_duplicate_of = models.TextField(null=True, blank=True)
    carved_duplicate = models.BooleanField(default=False)
    needs_person = models.BooleanField(
        default=False, help_text="review, or a candidate: what the gallery shows first")
    # Review state, kept here (latest of the append-only grades) so pages filter and count fast.
    stack = models.BigIntegerField(null=True, blank=True,
                                   help_text="id of the stack's first finding (same picture)")
    pregrade = models.CharField(max_length=1, blank=True,
                                help_text="from the known set's category (exact matches)")
    grade = models.CharField(max_length=1, blank=True, help_text="the latest grade in force")
    suggestion = models.CharField(max_length=1, blank=True)
    suggestion_source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["scan", "evidence_index", "key"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "evidence_index", "key"],
                                    name="finding_unique_in_scan"),
        ]
        indexes = [
            # Covers the gallery's counts (no table read at 100 000 findings).
            models.Index(fields=["case", "needs_person", "grade", "stack", "has_candidates",
                                 "known_bad", "carved_duplicate"], name="finding_review_state"),
            # The gallery's pages (what needs a person, by folder, size or date): partial
            # indexes, because Django writes `WHERE needs_person` and SQLite uses an index
            # column only for `= value`; `stack` last so the one-tile-per-stack test is read
            # from the index too.
            models.Index(fields=["case", "grade", "folder", "path", "id", "stack"],
                         condition=models.Q(needs_person=True), name="finding_gallery_folder"),
            models.Index(fields=["case", "grade", "size", "id", "stack"],
                         condition=models.Q(needs_person=True), name="finding_gallery_size"),
            models.Index(fields=["case", "grade", "date", "id", "stack"],
                         condition=models.Q(needs_person=True), name="finding_gallery_date"),
            models.Index(fields=["case", "sha1"], name="finding_sha1"),
            models.Index(fields=["case", "stack"], name="finding_stack"),
        ]

    def __str__(self) -> str:
        return str(self.path)

    @property
    def effective_grade(self) -> str:
        return str(self.grade or self.pregrade)

    @property
    def record(self) -> dict[str, Any]:
        """The item as findings.json has it (every field the engine wrote)."""
        full = FindingRecord.objects.filter(scan_id=self.scan_id,
                                            evidence_index=self.evidence_index,
                                            key=self.key).values_list("record", flat=True)
        found = full.first()
        return dict(found) if found is not None else {}


class FindingRecord(models.Model):
    """The whole item of findings.json behind a Finding, keyed as the scan keys it."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="records")
    evidence_index = models.PositiveSmallIntegerField()
    key = models.TextField()
    record = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scan", "evidence_index", "key"],
                                    name="finding_record_unique"),
        ]


class AgeBand(models.TextChoices):
    UNDER_5 = "0-4", "0–4"
    FROM_5 = "5-9", "5–9"
    FROM_10 = "10-12", "10–12"
    FROM_13 = "13-15", "13–15"
    FROM_16 = "16-17", "16–17"
    UNKNOWN = "unknown", "Unknown"


class IdentifiedHow(models.TextChoices):
    DEVICE = "device", "From a device"
    ONLINE_CONTACT = "online-contact", "From an online contact"
    REFERRAL = "referral", "Referral from another agency"
    OTHER = "other", "Other"


class SafeguardingAction(models.TextChoices):
    REFERRAL = "referral", "Referral to children's services"
    STRATEGY = "strategy-meeting", "Strategy meeting"
    PROTECTION = "police-protection", "Police protection"
    JOINT_VISIT = "joint-visit", "Joint visit"
    OTHER = "other", "Other"


class SafeguardingRecord(Voidable):
    """A child identified at risk. No name, no date of birth: a pseudonymous reference and an
    age band are what the statistics and the hand-over need."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="safeguarding")
    reference = models.CharField(max_length=64, help_text="pseudonymous, e.g. C-2026-014")
    age_band = models.CharField(max_length=8, choices=AgeBand.choices)
    identified_how = models.CharField(max_length=16, choices=IdentifiedHow.choices)
    action = models.CharField(max_length=20, choices=SafeguardingAction.choices)
    agency = models.CharField(max_length=200)
    action_on = models.DateField(validators=[not_after_today])
    outcome = long_text(blank=True)

    class Meta:
        ordering = ["action_on", "pk"]

    def __str__(self) -> str:
        return f"{self.reference} {self.action} {self.action_on}"

    def audit_label(self) -> str:
        return f"safeguarding {self.reference} (case {self.case.reference})"
