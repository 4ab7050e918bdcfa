from django.contrib import admin

from feedesk.core.admin_mixins import ReadOnlyAdmin
from feedesk.enrolment.models import Enrolment


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "student",
        "class_group",
        "status",
        "purchased_hours",
        "gift_hours",
        "consumed_hours",
    ]
    list_filter = ["organization", "status"]
