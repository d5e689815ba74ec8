"""Adding an officer (a user with a role in a unit) from the command line: the first
administrator of a new installation needs this before the admin can be reached."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from fellwatch.errors import UsageError
from fellwatch.web.audit.actor import acting_as
from fellwatch.web.records.models import Officer, Role, Unit


class AddUserError(UsageError, ValueError):
    pass


def add_officer(username: str, password: str, role: str, unit: str,
                by: str = "command-line") -> None:
    if role not in Role.values:
        raise AddUserError(f"role {role!r} is not one of {', '.join(Role.values)}")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise AddUserError(f"user {username!r} exists already")
    candidate = user_model(username=username)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise AddUserError(" ".join(exc.messages)) from exc
    with acting_as(by), transaction.atomic():
        unit_obj, _ = Unit.objects.get_or_create(name=unit)
        user = user_model.objects.create_user(username=username, password=password)
        if role == Role.ADMINISTRATOR:
            # The admin holds reference data and people; superuser so it can manage users.
            user.is_staff = user.is_superuser = True
            user.save()
        Officer.objects.create(user=user, unit=unit_obj, role=role)
