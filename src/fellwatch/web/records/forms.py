"""Forms for the records; choices offered are limited to what the user may see."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from fellwatch.web.records.models import (
    Arrest,
    Case,
    CaseStatus,
    CustodyAction,
    CustodyEntry,
    Evidence,
    Exhibit,
    OffenceType,
    Operation,
    Person,
    SafeguardingRecord,
    SearchWarrant,
    Unit,
    WarrantResult,
)


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class OperationForm(forms.ModelForm):
    class Meta:
        model = Operation
        fields = ["name", "starts_on", "ends_on", "lead_officer", "notes"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = ["reference", "operation", "offence_types", "status", "opened_on", "closed_on",
                  "officer_in_charge", "assigned", "summary"]
        widgets = {"opened_on": DateInput(), "closed_on": DateInput(),
                   "offence_types": forms.CheckboxSelectMultiple()}

    def __init__(self, *args: Any, unit: Unit, operations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(officer__unit=unit).order_by("username")
        self.fields["operation"].queryset = operations
        self.fields["offence_types"].queryset = OffenceType.objects.filter(active=True)
        self.fields["officer_in_charge"].queryset = users
        self.fields["assigned"].queryset = users
        self.fields["assigned"].required = False

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        closed_on, opened_on = data.get("closed_on"), data.get("opened_on")
        if closed_on and opened_on and closed_on < opened_on:
            self.add_error("closed_on", "A case cannot close before it opened.")
        # The closed figure counts closing dates: a closed case needs one, an open one none.
        if data.get("status") == CaseStatus.CLOSED and not closed_on:
            self.add_error("closed_on", "A closed case needs the date it closed.")
        if closed_on and data.get("status") and data.get("status") != CaseStatus.CLOSED:
            self.add_error("status", "A case with a closing date is closed.")
        return data


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["role", "name", "date_of_birth"]
        widgets = {"date_of_birth": DateInput()}


class WarrantForm(forms.ModelForm):
    class Meta:
        model = SearchWarrant
        fields = ["address", "issued_on", "executed_on", "result"]
        widgets = {"issued_on": DateInput(), "executed_on": DateInput()}

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        executed_on, issued_on = data.get("executed_on"), data.get("issued_on")
        if executed_on and issued_on and executed_on < issued_on:
            self.add_error("executed_on", "A warrant cannot be executed before it was issued.")
        # The executed figure counts execution dates: they must agree with the result.
        unexecuted = (WarrantResult.PENDING, WarrantResult.NOT_EXECUTED)
        if executed_on and data.get("result") in unexecuted:
            self.add_error("result", "An executed warrant needs the result of its execution.")
        if not executed_on and data.get("result") not in (None, *unexecuted):
            self.add_error("executed_on", "When was it executed?")
        return data


class ArrestForm(forms.ModelForm):
    class Meta:
        model = Arrest
        fields = ["person", "operation", "arrested_on", "offence", "outcome"]
        widgets = {"arrested_on": DateInput()}

    def __init__(self, *args: Any, case: Case, operations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = case.persons.all()
        self.fields["operation"].queryset = operations
        self.fields["offence"].queryset = OffenceType.objects.filter(active=True)


class ExhibitForm(forms.ModelForm):
    class Meta:
        model = Exhibit
        fields = ["reference", "type", "make", "model", "serial", "seal_number", "seized_from",
                  "seized_where", "seized_at", "seized_by", "warrant", "operation"]
        widgets = {"seized_at": DateTimeInput()}

    def __init__(self, *args: Any, case: Case, operations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["operation"].queryset = operations
        self.fields["warrant"].queryset = SearchWarrant.objects.filter(
            case=case
        ) | SearchWarrant.objects.filter(operation__in=operations)

    def clean_reference(self) -> str:
        reference = str(self.cleaned_data["reference"]).strip()
        if Exhibit.objects.filter(case=self.case, reference=reference).exists():
            raise forms.ValidationError("This case already has an exhibit with that reference.")
        return reference


class CustodyForm(forms.ModelForm):
    class Meta:
        model = CustodyEntry
        fields = ["action", "at", "from_location", "to_location", "reason", "seal_intact",
                  "seal_number", "hash_before", "hash_after"]
        widgets = {"at": DateTimeInput(),
                   "seal_intact": forms.NullBooleanSelect()}

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for name in ("hash_before", "hash_after"):
            value = str(data.get(name) or "").strip().lower()
            if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
                self.add_error(name, "A SHA-256 is 64 hexadecimal digits.")
            data[name] = value
        if data.get("action") == CustodyAction.MOVED and not data.get("to_location"):
            self.add_error("to_location", "A movement needs the place it went to.")
        return data


def _sha256(value: str) -> str:
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise forms.ValidationError("A SHA-256 is 64 hexadecimal digits.")
    return value


class EvidenceForm(forms.ModelForm):
    """An image or extraction made of the exhibit; recording it adds an "imaged" entry."""

    class Meta:
        model = Evidence
        fields = ["path", "format", "sha256"]
        labels = {"sha256": "SHA-256 of the image"}

    def clean_sha256(self) -> str:
        return _sha256(str(self.cleaned_data["sha256"]))


class SafeguardingForm(forms.ModelForm):
    class Meta:
        model = SafeguardingRecord
        fields = ["reference", "age_band", "identified_how", "action", "agency", "action_on",
                  "outcome"]
        widgets = {"action_on": DateInput()}


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
