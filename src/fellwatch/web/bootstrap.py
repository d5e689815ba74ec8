"""Start Django from outside (the CLI, the scan import): settings, app registry, migrations."""

from __future__ import annotations

import os


def ensure_django(migrate: bool = False) -> bool:
    """Set Django up if nobody has; returns True when this call did it.

    With `migrate`, a store set up here is brought to the newest schema (a new data directory
    needs no separate step).
    """
    import django
    from django.apps import apps

    if apps.ready:
        return False
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fellwatch.web.settings")
    django.setup()
    if migrate:
        from django.conf import settings
        from django.core.management import call_command

        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            from pathlib import Path

            Path(settings.DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0, interactive=False)
    return True
