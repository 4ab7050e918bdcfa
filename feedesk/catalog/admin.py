from django.contrib import admin

from feedesk.catalog.models import ClassGroup, Course, ScheduleSlot, Subject
from feedesk.core.admin_mixins import NoAddAdmin


@admin.register(Subject)
class SubjectAdmin(NoAddAdmin):
    list_display = ["code", "name", "name_en", "organization"]
    list_filter = ["organization"]
    readonly_fields = ["code"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "subject",
        "price_model",
        "lesson_price",
        "package_price",
        "term_fee",
        "is_active",
    ]
    list_filter = ["organization", "price_model", "is_active"]
    search_fields = ["name", "name_en"]


class ScheduleSlotInline(admin.TabularInline):
    model = ScheduleSlot
    extra = 1


@admin.register(ClassGroup)
class ClassGroupAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "course",
        "campus",
        "instructor",
        "capacity",
        "start_date",
        "end_date",
        "is_active",
    ]
    list_filter = ["organization", "campus", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["instructor", "head_teacher"]
    inlines = [ScheduleSlotInline]
