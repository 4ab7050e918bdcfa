"""What a guardian or student may see: their family's students, orders, payments and cart."""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet, prefetch_related_objects

from feedesk.billing.models import Order
from feedesk.billing.selectors import PAYABLE_STATUSES
from feedesk.catalog.models import ClassGroup, Course, ScheduleSlot
from feedesk.core import sql
from feedesk.core.errors import NotFound
from feedesk.enrolment.models import Enrolment
from feedesk.organizations.models import Campus, Organization
from feedesk.payments.models import Allocation, Payment
from feedesk.people.models import Guardian, Student, StudentGuardian
from feedesk.portal.models import Cart, CartItem, PortalSettings
from feedesk.users.models import User


@dataclass(frozen=True)
class PortalViewer:
    """A signed-in guardian (all their children) or student (only themselves)."""

    user: User
    organization: Organization
    guardian: Guardian | None
    student: Student | None
    students: tuple[Student, ...] = field(default_factory=tuple)

    @property
    def student_ids(self) -> list[int]:
        return [s.pk for s in self.students]

    def get_student(self, student_id: int | str | None) -> Student:
        """One of the viewer's students; anyone else's id is simply not found."""
        for student in self.students:
            if str(student.pk) == str(student_id):
                return student
        raise NotFound(_not_found())


def _not_found() -> str:
    from django.utils.translation import gettext as _

    return _("Not found.")


def viewer_for(user: User) -> PortalViewer | None:
    """The portal identity behind a login, or None for staff and strangers."""
    if not user.is_authenticated or not user.is_active or user.role:
        return None
    found = _guardian_viewer(user)
    if found is not None:
        return found
    student = _related(user, "student")
    if student is not None and student.is_active:
        return PortalViewer(user, student.organization, None, student, (student,))
    return None


def _guardian_viewer(user: User) -> PortalViewer | None:
    """A guardian login's viewer in one lean statement: the guardian, the school with its portal
    options, and the active children (each page starts with it)."""
    plan, statement = _guardian_statement()
    rows = sql.fetch(statement, [user.pk])
    if not rows:
        return None
    (g_names, g_end), (o_names, o_end), (p_names, p_end), (s_names, _s_end) = plan
    first = rows[0]
    organization = sql.read(Organization, o_names, first[g_end:o_end])
    options = sql.read(PortalSettings, p_names, first[o_end:p_end]) if first[o_end] is not None else None
    if options is not None:
        _cache(options, "organization", organization)
    _cache(organization, "portal_settings", options)
    guardian = sql.read(Guardian, g_names, first[:g_end])
    _cache(guardian, "organization", organization)
    _cache(guardian, "user", user)
    students = []
    for row in rows:
        if row[p_end] is not None:
            student = sql.read(Student, s_names, row[p_end:])
            _cache(student, "organization", organization)
            students.append(student)
    return PortalViewer(user, organization, guardian, None, tuple(students))


def _cache(instance: Any, name: str, value: Any) -> None:
    """Keep a related object (or, for a one-to-one read as missing, None) on the instance."""
    instance._meta.get_field(name).set_cached_value(instance, value)


@lru_cache(maxsize=1)
def _guardian_statement() -> tuple[tuple[tuple[tuple[str, ...], int], ...], str]:
    plan = []
    end = 0
    for model in (Guardian, Organization, PortalSettings, Student):
        names = sql.concrete_names(model)
        end += len(names)
        plan.append((names, end))
    (g, _), (o, _), (p, _), (st, _) = plan
    link = StudentGuardian._meta.db_table
    statement = (
        f"SELECT {sql.columns(Guardian, g, 'g')}, {sql.columns(Organization, o, 'o')}, "
        f"{sql.columns(PortalSettings, p, 'p')}, {sql.columns(Student, st, 's')} "
        f"FROM {Guardian._meta.db_table} g "
        f"JOIN {Organization._meta.db_table} o ON o.id = g.organization_id "
        f"LEFT JOIN {PortalSettings._meta.db_table} p ON p.organization_id = o.id "
        f"LEFT JOIN {link} sg ON sg.guardian_id = g.id "
        f"LEFT JOIN {Student._meta.db_table} s ON s.id = sg.student_id "
        "AND s.organization_id = g.organization_id AND s.is_active "
        "WHERE g.user_id = %s ORDER BY s.name, s.id"
    )
    return tuple(plan), statement


def _related(user: User, name: str) -> Any:
    """user.guardian / user.student, or None (one query unless loaded with the user)."""
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:
        return None


def portal_settings(organization_id: int) -> PortalSettings:
    found = PortalSettings.objects.filter(organization_id=organization_id).first()
    if found is not None:
        return found
    settings, _created = PortalSettings.objects.get_or_create(organization_id=organization_id)
    return settings


def viewer_settings(viewer: PortalViewer) -> PortalSettings:
    """The school's portal options, from the viewer's organization when it was loaded with them."""
    try:
        return viewer.organization.portal_settings
    except ObjectDoesNotExist:
        return portal_settings(viewer.organization.pk)


def payable_online_orders(viewer: PortalViewer) -> QuerySet[Order]:
    """Orders this payer may pay here: theirs, owed, on account and flagged payable online by staff."""
    return Order.objects.filter(
        organization_id=viewer.organization.pk,
        student_id__in=viewer.student_ids,
        status__in=PAYABLE_STATUSES,
        on_account=True,
        online_payable=True,
    )


def payable_online(viewer: PortalViewer) -> QuerySet[Order]:
    """The payable orders as the pages show them: with their student and class, by due date."""
    return (
        payable_online_orders(viewer)
        .select_related("student", "enrolment__class_group__course")
        .order_by("due_date", "number")
    )


def with_purposes(orders: list[Order]) -> list[tuple[Order, str]]:
    """Each order with what it is for; lines are read only for orders without a class."""
    prefetch_related_objects([o for o in orders if not o.enrolment_id], "lines")
    return [(o, order_purpose(o)) for o in orders]


def order_purpose(order: Order) -> str:
    """What an order is for, in the payer's words: its class, else its lines."""
    if order.enrolment_id and order.enrolment is not None:
        return order.enrolment.class_group.name
    return "、".join(line.description for line in order.lines.all())


def active_cart(viewer: PortalViewer) -> Cart | None:
    """The payer's cart that is not paid yet, with its items (no item query when there is none)."""
    return (
        Cart.objects.filter(owner=viewer.user, organization=viewer.organization)
        .exclude(status=Cart.Status.PAID)
        .prefetch_related("items")
        .first()
    )


def cart_order_ids(viewer: PortalViewer) -> set[int]:
    return set(
        CartItem.objects.filter(cart__owner=viewer.user, cart__organization=viewer.organization)
        .exclude(cart__status=Cart.Status.PAID)
        .values_list("order_id", flat=True)
    )


def family_payments(viewer: PortalViewer) -> QuerySet[Payment]:
    """Payments by the family's students, or that paid any of their orders."""
    ids = viewer.student_ids
    paid_ours = Allocation.objects.filter(order__student_id__in=ids, payment__isnull=False).values(
        "payment_id"
    )
    return (
        Payment.objects.filter(organization_id=viewer.organization.pk)
        .filter(Q(student_id__in=ids) | Q(pk__in=paid_ours))
        .select_related("student")
        .order_by("-received_at", "-pk")
    )


def receipt_for(viewer: PortalViewer, payment_id: int | str) -> Payment:
    payment = family_payments(viewer).filter(pk=payment_id).first() if str(payment_id).isdigit() else None
    if payment is None:
        raise NotFound(_not_found())
    return payment


def active_enrolments(student: Student) -> list[Enrolment]:
    """The student's active enrolments with their class (course, campus, instructor and weekly
    schedule), by the class's start date: one lean statement (the Upcoming Courses page)."""
    plan, statement = _enrolments_statement()
    rows = sql.fetch(statement, [student.pk, Enrolment.Status.ACTIVE])
    enrolments: dict[int, Enrolment] = {}
    schedules: dict[int, list[ScheduleSlot]] = {}
    for row in rows:
        enrolment_id = row[0]
        if enrolment_id not in enrolments:
            enrolment, group, course, campus, instructor = (
                sql.read(model, names, row[start:end]) for model, names, start, end in plan[:-1]
            )
            _cache(group, "course", course)
            _cache(group, "campus", campus)
            _cache(group, "instructor", instructor)
            _cache(enrolment, "class_group", group)
            _cache(enrolment, "student", student)
            enrolments[enrolment_id] = enrolment
            schedules[enrolment_id] = []
        model, names, start, end = plan[-1]
        if row[start] is not None:
            schedules[enrolment_id].append(sql.read(model, names, row[start:end]))
    for enrolment_id, enrolment in enrolments.items():
        sql.cache_related_list(enrolment.class_group, "schedule", schedules[enrolment_id])
    return list(enrolments.values())


_ENROLMENT_PARTS = (
    (Enrolment, "e"),
    (ClassGroup, "g"),
    (Course, "c"),
    (Campus, "cp"),
    (User, "u"),
    (ScheduleSlot, "sl"),
)


@lru_cache(maxsize=1)
def _enrolments_statement() -> tuple[tuple[tuple[Any, tuple[str, ...], int, int], ...], str]:
    plan, start = [], 0
    for model, _alias in _ENROLMENT_PARTS:
        names = sql.concrete_names(model)
        plan.append((model, names, start, start + len(names)))
        start += len(names)
    table = {model: model._meta.db_table for model, _alias in _ENROLMENT_PARTS}
    selected = ", ".join(sql.columns(m, sql.concrete_names(m), alias) for m, alias in _ENROLMENT_PARTS)
    statement = (
        f"SELECT {selected} FROM {table[Enrolment]} e "
        f"JOIN {table[ClassGroup]} g ON g.id = e.class_group_id "
        f"JOIN {table[Course]} c ON c.id = g.course_id "
        f"JOIN {table[Campus]} cp ON cp.id = g.campus_id "
        f"JOIN {table[User]} u ON u.id = g.instructor_id "
        f"LEFT JOIN {table[ScheduleSlot]} sl ON sl.class_group_id = g.id "
        "WHERE e.student_id = %s AND e.status = %s "
        "ORDER BY g.start_date, e.id, sl.weekday, sl.start_time, sl.id"
    )
    return tuple(plan), statement
