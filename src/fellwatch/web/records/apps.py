from __future__ import annotations

from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "fellwatch.web.records"
    label = "records"
    verbose_name = "Unit records"

    def ready(self) -> None:
        from fellwatch.web.records import guards, signals

        signals.connect()
        guards.connect()
