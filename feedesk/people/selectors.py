from functools import lru_cache
from typing import Any

from django.db.models import Q, QuerySet

from feedesk.core import sql
from feedesk.people.models import Guardian, Student
from feedesk.users.models import User


def students_visible_to(user: User) -> QuerySet[Student]:
    """The organization's students, narrowed to the user's campuses when they are limited."""
    qs = Student.objects.filter(organization_id=user.tenant_id)
    campus_ids = user.campus_ids()
    if campus_ids is not None:
        qs = qs.filter(campus_id__in=campus_ids)
    return qs


_STUDENT_FIELDS = sql.concrete_names(Student)


@lru_cache(maxsize=1)
def _student_select() -> str:
    return f"SELECT {sql.columns(Student, _STUDENT_FIELDS, 's')} FROM {Student._meta.db_table} s"


def visibility_condition(user: User, alias: str) -> tuple[str, list[Any]]:
    """`students_visible_to` as a SQL condition on the student table aliased `alias`, with its params."""
    condition = f"{alias}.organization_id = %s"
    params: list[Any] = [user.tenant_id]
    campus_ids = user.campus_ids()
    if campus_ids is not None:
        condition += f" AND {alias}.campus_id IN ({sql.placeholders(len(campus_ids))})"
        params.extend(sorted(campus_ids))
    return condition, params


def visible_student(*, user: User, student_id: int) -> Student | None:
    """One student by id if `user` may see it, in one statement (the API's hottest lookup)."""
    condition, params = visibility_condition(user, "s")
    rows = sql.fetch(f"{_student_select()} WHERE s.id = %s AND {condition}", [student_id, *params])
    return sql.read(Student, _STUDENT_FIELDS, rows[0]) if rows else None


def search_students(*, user: User, query: str, limit: int | None = 50) -> QuerySet[Student]:
    """Find students by name, phone (own or a guardian's), student number, pinyin or initials.

    `limit=None` returns the unsliced queryset, for callers that paginate.
    """
    qs = students_visible_to(user).select_related("campus")
    query = query.strip()
    if not query:
        qs = qs.order_by("-created_at", "-pk")
        return qs if limit is None else qs[:limit]
    needle = query.lower().replace(" ", "")
    condition = Q(name__icontains=query) | Q(number__iexact=query) | Q(number__icontains=query)
    if needle.isascii():
        condition |= Q(name_pinyin__startswith=needle) | Q(name_initials__startswith=needle)
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4:
        condition |= Q(phone__contains=digits) | Q(guardians__phone__contains=digits)
    qs = qs.filter(condition).distinct().order_by("name", "pk")
    return qs if limit is None else qs[:limit]


def guardians_of(student: Student) -> QuerySet[Guardian]:
    return student.guardians.all().order_by("studentguardian__is_primary", "name")


def siblings_of(student: Student) -> QuerySet[Student]:
    return (
        Student.objects.filter(organization_id=student.organization_id, guardians__students=student)
        .exclude(pk=student.pk)
        .distinct()
    )


def family_student_ids(student: Student) -> set[int]:
    """The student and every student sharing a guardian with them: whose orders one payment may settle."""
    return {student.pk, *siblings_of(student).values_list("pk", flat=True)}
