from django.contrib import admin

from feedesk.core.admin_mixins import NoAddAdmin, ReadOnlyAdmin
from feedesk.organizations.models import Campus, Counter, Organization


@admin.register(Organization)
class OrganizationAdmin(NoAddAdmin):
    list_display = ["name", "slug", "currency", "timezone", "default_due_days"]
    search_fields = ["name", "slug"]


@admin.register(Campus)
class CampusAdmin(NoAddAdmin):
    list_display = ["name", "code", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "code"]


@admin.register(Counter)
class CounterAdmin(ReadOnlyAdmin):
    list_display = ["organization", "name", "value"]
