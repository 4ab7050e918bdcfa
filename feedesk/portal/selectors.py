"""What a guardian or student may see: their family's students, orders, payments and cart."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import BooleanField, QuerySet, prefetch_related_objects
from django.db.models.expressions import RawSQL

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
    """A guardian login's viewer: the guardian, the school with its portal options, and the
    active children (each page starts with it). Read with the user when the request's user was
    loaded by the authentication backend (`family_columns`), else by one lean statement."""
    rows = getattr(user, FAMILY_ROWS, None)
    if rows is None:
        rows = sql.fetch(_guardian_statement(), [user.pk])
    if not rows or rows[0][0] is None:
        return None
    guardian, organization, options, _student = sql.split_joined(rows[0], _GUARDIAN_PARTS_MODELS)
    if options is not None:
        sql.cache_related(options, "organization", organization)
    sql.cache_related(organization, "portal_settings", options)
    sql.cache_related(guardian, "organization", organization)
    sql.cache_related(guardian, "user", user)
    students = []
    for row in rows:
        [student] = sql.split_joined(row, _GUARDIAN_PARTS_MODELS, skip=3)
        if student is not None:
            sql.cache_related(student, "organization", organization)
            students.append(student)
    return PortalViewer(user, organization, guardian, None, tuple(students))


_GUARDIAN_PARTS = ((Guardian, "g"), (Organization, "o"), (PortalSettings, "p"), (Student, "s"))
_GUARDIAN_PARTS_MODELS = [model for model, _alias in _GUARDIAN_PARTS]

# The attribute of a user loaded with its family's rows (see family_columns).
FAMILY_ROWS = "_portal_family_rows"


@lru_cache(maxsize=1)
def family_columns(user_alias: str) -> tuple[str, str, str]:
    """For the statement that loads a request's user (`user_alias`): the select list, joins and
    ORDER BY that bring a guardian login's family with it (one row per active child; NULLs for
    any other user). Keep each row's columns after the user's as `FAMILY_ROWS` on the user."""
    link = StudentGuardian._meta.db_table
    joins = (
        f"LEFT JOIN {Guardian._meta.db_table} g ON g.user_id = {user_alias}.id "
        f"LEFT JOIN {Organization._meta.db_table} o ON o.id = g.organization_id "
        f"LEFT JOIN {PortalSettings._meta.db_table} p ON p.organization_id = o.id "
        f"LEFT JOIN {link} sg ON sg.guardian_id = g.id "
        f"LEFT JOIN {Student._meta.db_table} s ON s.id = sg.student_id "
        "AND s.organization_id = g.organization_id AND s.is_active"
    )
    return sql.joined_columns(_GUARDIAN_PARTS), joins, "s.name, s.id"


@lru_cache(maxsize=1)
def _guardian_statement() -> str:
    selected, joins, order = family_columns("u")
    return (
        f"SELECT {selected} FROM {User._meta.db_table} u {joins} "
        f"WHERE u.id = %s AND g.id IS NOT NULL ORDER BY {order}"
    )


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


def payable_orders(
    viewer: PortalViewer,
    *,
    order_ids: Collection[int] | None = None,
    enrolment_ids: Collection[int] | None = None,
    with_class: bool = False,
    lock: bool = False,
) -> list[Order]:
    """Orders this payer may pay here: theirs, owed, on account and flagged payable online by
    staff. One lean statement, each order with its student (one of the viewer's), limited to
    `order_ids` or `enrolment_ids` when given. `with_class`: with the enrolment and its class, by
    due date (as the pages show them); else by id. `lock`: FOR UPDATE (of the orders)."""
    students = {s.pk: s for s in viewer.students}
    if (
        not students
        or (order_ids is not None and not order_ids)
        or (enrolment_ids is not None and not enrolment_ids)
    ):
        return []
    key = "order" if order_ids is not None else "enrolment" if enrolment_ids is not None else ""
    limit = list(order_ids if order_ids is not None else enrolment_ids or ())
    statement = _payable_statement(connection.vendor, len(students), key, len(limit), with_class, lock)
    params = [viewer.organization.pk, *students, *PAYABLE_STATUSES, *limit]
    orders = []
    for row in sql.fetch(statement, params):
        if with_class:
            order, enrolment, group = sql.split_joined(row, _ORDER_WITH_CLASS)
            if enrolment is not None:
                sql.cache_related(enrolment, "class_group", group)
            sql.cache_related(order, "enrolment", enrolment)
        else:
            order = sql.read(Order, sql.concrete_names(Order), row)
        sql.cache_related(order, "student", students[order.student_id])
        orders.append(order)
    return orders


_ORDER_WITH_CLASS = [Order, Enrolment, ClassGroup]


@lru_cache(maxsize=64)
def _payable_statement(vendor: str, students: int, key: str, limit: int, with_class: bool, lock: bool) -> str:
    if with_class:
        selected = sql.joined_columns(((Order, "o"), (Enrolment, "e"), (ClassGroup, "g")))
        joins = (
            f" LEFT JOIN {Enrolment._meta.db_table} e ON e.id = o.enrolment_id"
            f" LEFT JOIN {ClassGroup._meta.db_table} g ON g.id = e.class_group_id"
        )
    else:
        selected, joins = sql.columns(Order, sql.concrete_names(Order), "o"), ""
    where = (
        f"o.organization_id = %s AND o.student_id IN ({sql.placeholders(students)}) "
        f"AND o.status IN ({sql.placeholders(len(PAYABLE_STATUSES))}) AND o.on_account AND o.online_payable"
    )
    if key:
        column = "o.id" if key == "order" else "o.enrolment_id"
        where += f" AND {column} IN ({sql.placeholders(limit)})"
    order_by = "o.due_date, o.number, o.id" if with_class else "o.id"
    lock_clause = sql.lock_clause()
    suffix = f"{lock_clause} OF o" if lock and lock_clause else ""
    return f"SELECT {selected} FROM {Order._meta.db_table} o{joins} WHERE {where} ORDER BY {order_by}{suffix}"


def with_purposes(orders: list[Order]) -> list[tuple[Order, str]]:
    """Each order with what it is for; lines are read only for orders without a class."""
    prefetch_related_objects([o for o in orders if not o.enrolment_id], "lines")
    return [(o, order_purpose(o)) for o in orders]


def order_purpose(order: Order) -> str:
    """What an order is for, in the payer's words: its class, else its lines."""
    if order.enrolment_id and order.enrolment is not None:
        return order.enrolment.class_group.name
    return "、".join(line.description for line in order.lines.all())


def active_cart(viewer: PortalViewer, *, lock: bool = False) -> Cart | None:
    """The payer's cart that is not paid yet (there is at most one), with its items in the order
    they were added: one lean statement. `lock`: the cart row locked (its items cannot change
    without that lock)."""
    rows = sql.fetch(
        _cart_statement(connection.vendor, lock),
        [viewer.user.pk, viewer.organization.pk, Cart.Status.PAID],
    )
    return _cart_with_items(rows)


def _cart_with_items(rows: Sequence[Sequence[Any]]) -> Cart | None:
    """The cart of rows selected by `_cart_statement`, its items cached (in the order they were added)."""
    if not rows:
        return None
    cart: Cart = sql.split_joined(rows[0], _CART_MODELS)[0]
    items = []
    for row in rows:
        own, item = sql.split_joined(row, _CART_MODELS)
        if item is not None and own.pk == cart.pk:
            sql.cache_related(item, "cart", cart)
            items.append(item)
    sql.cache_related_list(cart, "items", items)
    return cart


_CART_MODELS = [Cart, CartItem]


@lru_cache(maxsize=4)
def _cart_statement(vendor: str, lock: bool) -> str:
    """The payer's unpaid cart (owner, school, the paid status) and its items; `lock`: FOR UPDATE
    of the cart row (its items cannot change without that lock)."""
    lock_clause = sql.lock_clause()
    return (
        f"SELECT {sql.joined_columns(((Cart, 'c'), (CartItem, 'i')))} FROM {Cart._meta.db_table} c "
        f"LEFT JOIN {CartItem._meta.db_table} i ON i.cart_id = c.id "
        "WHERE c.owner_id = %s AND c.organization_id = %s AND c.status <> %s ORDER BY c.id, i.id"
        + (f"{lock_clause} OF c" if lock and lock_clause else "")
    )


def cart_order_ids(viewer: PortalViewer) -> set[int]:
    """The orders in the payer's unpaid cart: one lean statement."""
    rows = sql.fetch(_cart_orders_statement(), [viewer.user.pk, viewer.organization.pk, Cart.Status.PAID])
    return {order_id for (order_id,) in rows}


@lru_cache(maxsize=1)
def _cart_orders_statement() -> str:
    return (
        f"SELECT i.order_id FROM {CartItem._meta.db_table} i JOIN {Cart._meta.db_table} c "
        "ON c.id = i.cart_id WHERE c.owner_id = %s AND c.organization_id = %s AND c.status <> %s"
    )


def _family_payment_condition(alias: str, students: int) -> str:
    """SQL: payment `alias` is the family's, made by one of its `students` or paying one of their
    orders (params: the students' ids, twice)."""
    ids = sql.placeholders(students)
    return (
        f"({alias}.student_id IN ({ids}) OR EXISTS (SELECT 1 FROM {Allocation._meta.db_table} fa "
        f"JOIN {Order._meta.db_table} fo ON fo.id = fa.order_id "
        f"WHERE fa.payment_id = {alias}.id AND fo.student_id IN ({ids})))"
    )


def family_payments(viewer: PortalViewer) -> QuerySet[Payment]:
    """Payments by the family's students, or that paid any of their orders."""
    ids = list(viewer.student_ids)
    if not ids:
        return Payment.objects.none()
    condition = _family_payment_condition(Payment._meta.db_table, len(ids))
    return (
        Payment.objects.filter(organization_id=viewer.organization.pk)
        .alias(of_family=RawSQL(condition, [*ids, *ids], output_field=BooleanField()))
        .filter(of_family=True)
        .select_related("student")
        .order_by("-received_at", "-pk")
    )


def form_pk(value: int | str) -> int | None:
    """A primary key from a URL or form value; None for anything that cannot be one (so a
    guessed or oversized id is not found rather than an error)."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def receipt_for(viewer: PortalViewer, payment_id: int | str) -> Payment:
    """One of `family_payments`, with its student and its allocations (in the order they were made,
    each with its order and the order's student) cached: one lean statement."""
    pk = form_pk(payment_id)
    students = viewer.student_ids
    if pk is None or not students:
        raise NotFound(_not_found())
    params = [pk, viewer.organization.pk, *students, *students]
    rows = sql.fetch(_receipt_statement(len(students)), params)
    if not rows:
        raise NotFound(_not_found())
    payment, payer = sql.split_joined(rows[0], _RECEIPT_MODELS)[:2]
    sql.cache_related(payment, "student", payer)
    allocations = []
    for row in rows:
        allocation, order, student = sql.split_joined(row, _RECEIPT_MODELS, skip=2)
        if allocation is not None:
            sql.cache_related(order, "student", student)
            sql.cache_related(allocation, "order", order)
            sql.cache_related(allocation, "payment", payment)
            allocations.append(allocation)
    sql.cache_related_list(payment, "allocations", allocations)
    return payment


_RECEIPT_PARTS = ((Payment, "p"), (Student, "ps"), (Allocation, "a"), (Order, "o"), (Student, "os"))
_RECEIPT_MODELS = [model for model, _alias in _RECEIPT_PARTS]


@lru_cache(maxsize=16)
def _receipt_statement(students: int) -> str:
    table = {model: model._meta.db_table for model in _RECEIPT_MODELS}
    return (
        f"SELECT {sql.joined_columns(_RECEIPT_PARTS)} FROM {table[Payment]} p "
        f"JOIN {table[Student]} ps ON ps.id = p.student_id "
        f"LEFT JOIN {table[Allocation]} a ON a.payment_id = p.id "
        f"LEFT JOIN {table[Order]} o ON o.id = a.order_id "
        f"LEFT JOIN {table[Student]} os ON os.id = o.student_id "
        f"WHERE p.id = %s AND p.organization_id = %s AND {_family_payment_condition('p', students)} "
        "ORDER BY a.id"
    )


def active_enrolments(student: Student) -> list[Enrolment]:
    """The student's active enrolments with their class (course, campus, instructor and weekly
    schedule), by the class's start date: one lean statement (the Upcoming Courses page)."""
    rows = sql.fetch(_enrolments_statement(), [student.pk, Enrolment.Status.ACTIVE])
    enrolments: dict[int, Enrolment] = {}
    schedules: dict[int, list[ScheduleSlot]] = {}
    for row in rows:
        enrolment, group, course, campus, instructor, slot = sql.split_joined(row, _ENROLMENT_MODELS)
        if enrolment.pk not in enrolments:
            sql.cache_related(group, "course", course)
            sql.cache_related(group, "campus", campus)
            sql.cache_related(group, "instructor", instructor)
            sql.cache_related(enrolment, "class_group", group)
            sql.cache_related(enrolment, "student", student)
            enrolments[enrolment.pk] = enrolment
            schedules[enrolment.pk] = []
        if slot is not None:
            schedules[enrolment.pk].append(slot)
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
_ENROLMENT_MODELS = [model for model, _alias in _ENROLMENT_PARTS]


@lru_cache(maxsize=1)
def _enrolments_statement() -> str:
    table = {model: model._meta.db_table for model in _ENROLMENT_MODELS}
    return (
        f"SELECT {sql.joined_columns(_ENROLMENT_PARTS)} FROM {table[Enrolment]} e "
        f"JOIN {table[ClassGroup]} g ON g.id = e.class_group_id "
        f"JOIN {table[Course]} c ON c.id = g.course_id "
        f"JOIN {table[Campus]} cp ON cp.id = g.campus_id "
        f"JOIN {table[User]} u ON u.id = g.instructor_id "
        f"LEFT JOIN {table[ScheduleSlot]} sl ON sl.class_group_id = g.id "
        "WHERE e.student_id = %s AND e.status = %s "
        "ORDER BY g.start_date, e.id, sl.weekday, sl.start_time, sl.id"
    )
