from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from fellwatch.web.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("seq", "at", "username", "action", "object_type", "object_id", "path")
    list_filter = ("action",)
    search_fields = ("username", "object_id", "path")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
