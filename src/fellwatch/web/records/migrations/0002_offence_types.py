"""Seed the configurable offence list with the unit's usual offences (editable in the admin)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations


def seed(apps: Any, schema_editor: Any) -> None:
    offence_type = apps.get_model("records", "OffenceType")
    for code, name in settings.DEFAULT_OFFENCE_TYPES:
        offence_type.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
