from django.contrib import admin

from feedesk.audit.models import AuditEntry
from feedesk.core.admin_mixins import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "target_type", "target_id", "amount"]
    list_filter = ["organization", "action"]
    search_fields = ["action", "target_type"]
