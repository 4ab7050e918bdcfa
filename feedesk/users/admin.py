from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from feedesk.users.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "organization", "role", "language", "is_active"]
    list_filter = ["organization", "role", "is_active"]
    filter_horizontal = ["campuses", "groups", "user_permissions"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("School"), {"fields": ("organization", "role", "campuses", "display_name", "language")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("School"), {"fields": ("organization", "role", "display_name", "language")}),
    )
