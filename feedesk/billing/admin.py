from django.contrib import admin

from feedesk.billing.models import Order, OrderLine
from feedesk.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "kind",
        "description",
        "quantity",
        "unit_price",
        "gross_amount",
        "discount_amount",
        "net_amount",
    ]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "student", "status", "total", "paid", "due_date", "campus"]
    list_filter = ["organization", "status", "campus"]
    search_fields = ["number", "student__name", "student__number"]
    inlines = [OrderLineInline]
