from django.contrib import admin

from feedesk.core.admin_mixins import NoAddAdmin
from feedesk.people.models import Guardian, Student, StudentGuardian


class StudentGuardianInline(admin.TabularInline):
    model = StudentGuardian
    extra = 0
    raw_id_fields = ["guardian", "student"]


@admin.register(Student)
class StudentAdmin(NoAddAdmin):
    list_display = ["number", "name", "campus", "phone", "is_active"]
    list_filter = ["organization", "campus", "is_active"]
    search_fields = ["number", "name", "name_pinyin", "name_initials", "phone"]
    readonly_fields = ["organization", "number", "name_pinyin", "name_initials"]
    raw_id_fields = ["adviser"]
    inlines = [StudentGuardianInline]


@admin.register(Guardian)
class GuardianAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "email", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "phone"]
    raw_id_fields = ["user"]
    inlines = [StudentGuardianInline]
