"""Forms for the records; choices offered are limited to what the user may see.

The rules about dates and what may follow what live in the models (`clean`, validators), so
that these forms, the CSV import and the admin all check the same; a form gives the record its
case before validating (`instance=...`), so the model can check against it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from fellwatch.web.records.models import (
    Arrest,
    Case,
    CustodyEntry,
    Evidence,
    Exhibit,
    OffenceType,
    Operation,
    Person,
    SafeguardingRecord,
    SearchWarrant,
    Unit,
    officer_name,
)

# HTML date inputs take and give ISO dates only; Django's default rendering follows the
# language (en-gb: 03/02/2026), which a browser rejects and shows as an empty field.
ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=ISO_DATE, **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class OfficerChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return officer_name(obj)


class OfficersChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return officer_name(obj)


def unit_users(unit: Unit) -> Any:
    return (get_user_model().objects.filter(officer__unit=unit, is_active=True)
            .select_related("officer").order_by("last_name", "first_name", "username"))


class RecordForm(forms.ModelForm):
    """A model's rule about a field the form does not show (the case, the exhibit) is shown
    above the form instead of failing the page."""

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            placed: dict[str, list[Any]] = {}
            for name, messages in errors.error_dict.items():
                key = name if name in self.fields or name == NON_FIELD_ERRORS else (
                    NON_FIELD_ERRORS)
                placed.setdefault(key, []).extend(messages)
            errors = ValidationError(placed)
        super()._update_errors(errors)


class OperationForm(RecordForm):
    class Meta:
        model = Operation
        fields = ["name", "starts_on", "ends_on", "lead_officer", "notes"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}


class CaseForm(RecordForm):
    officer_in_charge = OfficerChoice(queryset=get_user_model().objects.none(), required=False)
    assigned = OfficersChoice(queryset=get_user_model().objects.none(), required=False,
                              widget=forms.CheckboxSelectMultiple())

    class Meta:
        model = Case
        fields = ["reference", "operation", "offence_types", "status", "opened_on", "closed_on",
                  "officer_in_charge", "assigned", "summary"]
        widgets = {"opened_on": DateInput(), "closed_on": DateInput(),
                   "offence_types": forms.CheckboxSelectMultiple()}

    def __init__(self, *args: Any, unit: Unit, operations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = unit
        users = unit_users(unit)
        self.fields["operation"].queryset = operations
        self.fields["offence_types"].queryset = OffenceType.objects.filter(active=True)
        self.fields["officer_in_charge"].queryset = users
        self.fields["assigned"].queryset = users

    def clean_reference(self) -> str:
        reference = str(self.cleaned_data["reference"]).strip()
        taken = Case.objects.filter(unit=self.unit, reference=reference).exclude(
            pk=self.instance.pk)
        if taken.exists():
            # The same words whether or not the user may open that case: a clash must not
            # confirm a case to someone told it does not exist.
            raise forms.ValidationError("This reference cannot be used. A supervisor can tell "
                                        "you why.", code="reference-taken")
        return reference


class PersonForm(RecordForm):
    class Meta:
        model = Person
        fields = ["role", "name", "date_of_birth"]
        widgets = {"date_of_birth": DateInput()}


class WarrantForm(RecordForm):
    class Meta:
        model = SearchWarrant
        fields = ["address", "issued_on", "executed_on", "result"]
        widgets = {"issued_on": DateInput(), "executed_on": DateInput()}


class ArrestForm(RecordForm):
    class Meta:
        model = Arrest
        fields = ["person", "operation", "arrested_on", "arrested_at", "custody_record",
                  "arresting_officer", "offence", "outcome"]
        widgets = {"arrested_on": DateInput(), "arrested_at": TimeInput()}

    def __init__(self, *args: Any, case: Case, operations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = case.persons.filter(voided_at__isnull=True)
        self.fields["operation"].queryset = operations
        self.fields["offence"].queryset = OffenceType.objects.filter(active=True)


def case_warrants(case: Case) -> Any:
    """The warrants an exhibit of `case` can come from: the case's own, and its operation's
    that belong to no case. Another case's warrant (and its address) is never offered."""
    own = SearchWarrant.objects.filter(case=case)
    if case.operation_id is not None:
        own = own | SearchWarrant.objects.filter(operation_id=case.operation_id,
                                                 case__isnull=True)
    return own.filter(voided_at__isnull=True).order_by("issued_on", "pk")


class ExhibitForm(RecordForm):
    class Meta:
        model = Exhibit
        fields = ["reference", "type", "make", "model", "serial", "seal_number", "seized_from",
                  "seized_where", "seized_at", "seized_by", "warrant", "operation"]
        widgets = {"seized_at": DateTimeInput()}

    def __init__(self, *args: Any, case: Case, operations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["operation"].queryset = operations
        self.fields["warrant"].queryset = case_warrants(case)

    def clean_reference(self) -> str:
        reference = str(self.cleaned_data["reference"]).strip()
        if Exhibit.objects.filter(case=self.case, reference=reference).exclude(
                pk=self.instance.pk).exists():
            raise forms.ValidationError("This case already has an exhibit with that reference.")
        return reference


class CustodyForm(RecordForm):
    class Meta:
        model = CustodyEntry
        fields = ["action", "at", "from_location", "to_location", "reason", "seal_intact",
                  "seal_number", "hash_before", "hash_after"]
        widgets = {"at": DateTimeInput(),
                   "seal_intact": forms.NullBooleanSelect()}

    def clean_hash_before(self) -> str:
        return str(self.cleaned_data.get("hash_before") or "").strip().lower()

    def clean_hash_after(self) -> str:
        return str(self.cleaned_data.get("hash_after") or "").strip().lower()


class EvidenceForm(RecordForm):
    """An image or extraction made of the exhibit; recording it adds an "imaged" entry."""

    class Meta:
        model = Evidence
        fields = ["path", "format", "sha256"]
        labels = {"sha256": "SHA-256 of the image"}

    def clean_sha256(self) -> str:
        value = str(self.cleaned_data["sha256"]).strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise forms.ValidationError("A SHA-256 is 64 hexadecimal digits.")
        return value


class SafeguardingForm(RecordForm):
    class Meta:
        model = SafeguardingRecord
        fields = ["reference", "age_band", "identified_how", "action", "agency", "action_on",
                  "outcome"]
        widgets = {"action_on": DateInput()}


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why is this record void?",
                             help_text="Kept in the audit log with the record as it was.")


class PeriodForm(forms.Form):
    """A statistics period; both ends included."""

    date_from = forms.DateField(widget=DateInput(), label="From")
    date_to = forms.DateField(widget=DateInput(), label="To")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError("The period ends before it starts.")
        return data


class CsvImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in (
        "operations", "cases", "warrants", "arrests", "exhibits", "custody", "safeguarding")])
    file = forms.FileField(label="CSV file")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError("A CSV file of more than 10 MB is not a unit's year.")
        return upload
