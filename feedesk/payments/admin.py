from django.contrib import admin

from feedesk.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline
from feedesk.payments.models import Allocation, Payment


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fk_name = "payment"
    fields = ["order", "amount", "reverses", "created_at"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["receipt_number", "student", "channel", "amount", "status", "received_at", "recorded_by"]
    list_filter = ["organization", "channel", "status"]
    search_fields = ["receipt_number", "reference", "student__name"]
    inlines = [AllocationInline]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "order", "payment", "amount", "created_at"]
