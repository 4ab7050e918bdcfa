"""What a guardian or student may see: their family's students, orders, payments and cart."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from feedesk.billing.models import Order
from feedesk.billing.selectors import PAYABLE_STATUSES
from feedesk.core.errors import NotFound
from feedesk.enrolment.models import Enrolment
from feedesk.organizations.models import Organization
from feedesk.payments.models import Allocation, Payment
from feedesk.people.models import Guardian, Student
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
    guardian = Guardian.objects.select_related("organization").filter(user=user).first()
    if guardian is not None:
        students = tuple(
            Student.objects.filter(
                organization_id=guardian.organization_id, guardians=guardian, is_active=True
            ).order_by("name", "pk")
        )
        return PortalViewer(user, guardian.organization, guardian, None, students)
    student = Student.objects.select_related("organization").filter(user=user, is_active=True).first()
    if student is not None:
        return PortalViewer(user, student.organization, None, student, (student,))
    return None


def portal_settings(organization_id: int) -> PortalSettings:
    found = PortalSettings.objects.filter(organization_id=organization_id).first()
    if found is not None:
        return found
    settings, _created = PortalSettings.objects.get_or_create(organization_id=organization_id)
    return settings


def payable_online(viewer: PortalViewer) -> QuerySet[Order]:
    """Orders this payer may pay here: theirs, owed, on account and flagged payable online by staff."""
    return (
        Order.objects.filter(
            organization_id=viewer.organization.pk,
            student_id__in=viewer.student_ids,
            status__in=PAYABLE_STATUSES,
            on_account=True,
            online_payable=True,
        )
        .select_related("student", "enrolment__class_group__course")
        .prefetch_related("lines")
        .order_by("due_date", "number")
    )


def order_purpose(order: Order) -> str:
    """What an order is for, in the payer's words: its class, else its lines."""
    if order.enrolment_id and order.enrolment is not None:
        return order.enrolment.class_group.name
    return "、".join(line.description for line in order.lines.all())


def active_cart(viewer: PortalViewer) -> Cart | None:
    return (
        Cart.objects.filter(owner=viewer.user, organization=viewer.organization)
        .exclude(status=Cart.Status.PAID)
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


def active_enrolments(student: Student) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.filter(student=student, status=Enrolment.Status.ACTIVE)
        .select_related("class_group__course", "class_group__instructor", "class_group__campus")
        .prefetch_related("class_group__schedule")
        .order_by("class_group__start_date", "pk")
    )
