"""Upcoming Courses: a student's classes, their coming sessions, hours left and what is owed."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from feedesk.billing.models import Order
from feedesk.enrolment.models import Enrolment
from feedesk.people.models import Student
from feedesk.portal.absences import session_rows
from feedesk.portal.selectors import PortalViewer, active_enrolments, payable_orders


@dataclass
class CourseCard:
    enrolment: Enrolment
    remaining_hours: Decimal
    orders: list[tuple[Order, bool]] = field(default_factory=list)  # (order, already in the cart)
    sessions: list[Any] = field(default_factory=list)


def upcoming_courses(
    *, viewer: PortalViewer, student: Student, in_cart: set[int] | None = None
) -> list[CourseCard]:
    """The student's classes; with `in_cart` (the cart's order ids: payments are on) their orders too."""
    student = viewer.get_student(student.pk)
    enrolments = list(active_enrolments(student))
    cards = [CourseCard(e, e.remaining_hours) for e in enrolments]
    rows = session_rows(student=student, enrolments=enrolments)
    for card in cards:
        card.sessions = rows.get(card.enrolment.pk, [])
    if in_cart is not None and enrolments:
        by_enrolment: dict[int, list[Order]] = {}
        for order in payable_orders(viewer, enrolment_ids=[e.pk for e in enrolments], with_class=True):
            assert order.enrolment_id is not None
            by_enrolment.setdefault(order.enrolment_id, []).append(order)
        for card in cards:
            card.orders = [(o, o.pk in in_cart) for o in by_enrolment.get(card.enrolment.pk, [])]
    return cards
