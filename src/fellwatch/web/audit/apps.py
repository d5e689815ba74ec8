from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fellwatch.web.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from fellwatch.web.audit import signals  # noqa: F401  (connects the login/logout hooks)
