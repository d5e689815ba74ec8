"""The admin holds reference data and people only: units, officers (role, unit), offence types.
Case data is reached through the records' own pages, where case-level access applies."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from fellwatch.web.records.models import OffenceType, Officer, Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name",)


@admin.register(Officer)
class OfficerAdmin(admin.ModelAdmin):
    list_display = ("user", "unit", "role", "collar_number")
    list_filter = ("unit", "role")


@admin.register(OffenceType)
class OffenceTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active")
    list_filter = ("active",)


class OfficerInline(admin.StackedInline):
    model = Officer
    can_delete = False
    verbose_name_plural = "officer (unit and role)"


class OfficerUserAdmin(UserAdmin):
    """Users with their unit and role on the same page."""

    inlines = [OfficerInline]
    list_display = ("username", "is_active", "is_staff", "last_login")


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), OfficerUserAdmin)
