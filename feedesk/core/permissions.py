"""Who may do what. Every service asks here, so the staff UI and the API share one rule set."""

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from feedesk.core.errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from feedesk.users.models import User


class Role(models.TextChoices):
    PRINCIPAL = "principal", gettext_lazy("Principal")
    FINANCE = "finance", gettext_lazy("Finance")
    CASHIER = "cashier", gettext_lazy("Cashier")
    ADVISER = "adviser", gettext_lazy("Course adviser")
    HEAD_TEACHER = "head_teacher", gettext_lazy("Head teacher")
    INSTRUCTOR = "instructor", gettext_lazy("Instructor")


class Capability(StrEnum):
    VIEW_STUDENTS = "view_students"
    MANAGE_STUDENTS = "manage_students"
    ENROL = "enrol"
    OVERRIDE_CAPACITY = "override_capacity"
    ISSUE_ORDER = "issue_order"
    CANCEL_ORDER = "cancel_order"
    TAKE_PAYMENT = "take_payment"
    APPLY_CREDIT = "apply_credit"
    REVERSE_PAYMENT = "reverse_payment"
    VIEW_LEDGER = "view_ledger"
    MANAGE_CATALOG = "manage_catalog"
    TAKE_ATTENDANCE = "take_attendance"
    MANAGE_SESSIONS = "manage_sessions"
    # Let a session go past an enrolment's remaining hours; the shortfall is billed as arrears.
    OVERDRAW_HOURS = "overdraw_hours"
    MANAGE_GATEWAYS = "manage_gateways"  # merchant keys for online payment: principal and finance
    MANAGE_PORTAL = "manage_portal"  # Web options → Carts & Checkout: principal and finance


_ALL = set(Capability)
_MONEY = {
    Capability.ISSUE_ORDER,
    Capability.CANCEL_ORDER,
    Capability.TAKE_PAYMENT,
    Capability.APPLY_CREDIT,
    Capability.REVERSE_PAYMENT,
}

ROLE_CAPABILITIES: dict[str, set[Capability]] = {
    Role.PRINCIPAL: _ALL,
    # Finance reads and corrects money; taking roll calls is the teachers' job.
    Role.FINANCE: _ALL - {Capability.OVERRIDE_CAPACITY, Capability.TAKE_ATTENDANCE},
    Role.CASHIER: {
        Capability.VIEW_STUDENTS,
        Capability.MANAGE_STUDENTS,
        Capability.ENROL,
        Capability.ISSUE_ORDER,
        Capability.CANCEL_ORDER,
        Capability.TAKE_PAYMENT,
        Capability.APPLY_CREDIT,
        # The front desk often takes the roll call (前台点名) and bills arrears when hours run out.
        Capability.TAKE_ATTENDANCE,
        Capability.MANAGE_SESSIONS,
        Capability.OVERDRAW_HOURS,
    },
    # Advisers sell and enrol, but an enrolment's order is issued by the desk, so advisers,
    # head teachers and instructors never move money.
    Role.ADVISER: {Capability.VIEW_STUDENTS, Capability.MANAGE_STUDENTS},
    # Roll calls recognise revenue but never touch receivables or payments. Instructors may
    # only take them for their own classes' sessions (checked in attendance.services).
    Role.HEAD_TEACHER: {Capability.VIEW_STUDENTS, Capability.TAKE_ATTENDANCE, Capability.MANAGE_SESSIONS},
    Role.INSTRUCTOR: {Capability.VIEW_STUDENTS, Capability.TAKE_ATTENDANCE},
}
MONEY_CAPABILITIES = frozenset(_MONEY | {Capability.ENROL})


def has_capability(user: "User", capability: Capability) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser and user.organization_id is None:
        return False  # a platform superuser has no school; it manages reference data in admin
    return capability in ROLE_CAPABILITIES.get(user.role, set())


def require(user: "User", capability: Capability, *, campus_id: int | None = None) -> None:
    """Raise unless `user` holds `capability` (on `campus_id`, when given)."""
    if not has_capability(user, capability):
        raise PermissionDenied(_("Your role does not allow this."), capability=str(capability))
    if campus_id is not None and not user.can_access_campus(campus_id):
        raise PermissionDenied(_("You are not assigned to this campus."), capability=str(capability))


def ensure_same_organization(user: "User", obj: Any) -> None:
    """Objects of another organization do not exist for this user: 404, never 403."""
    if getattr(obj, "organization_id", None) != user.organization_id:
        raise NotFound(_("Not found."))
