"""Enrolling a student in a class, which issues the order for it."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from feedesk.audit.services import record_audit
from feedesk.billing.models import Order, OrderLine
from feedesk.billing.services import Discount, LineDraft, create_order
from feedesk.catalog.models import ClassGroup, Course, PriceModel
from feedesk.core.errors import Conflict, ValidationFailed
from feedesk.core.permissions import Capability, ensure_same_organization, has_capability, require
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.services import open_enrolment_account
from feedesk.people.models import Student
from feedesk.users.models import User


@dataclass(frozen=True)
class TuitionQuote:
    purchased_hours: Decimal
    gift_hours: Decimal
    unit_price: int
    quantity: Decimal
    description: str


def quote_tuition(
    *, course: Course, hours: Decimal | None = None, price_override: int | None = None
) -> TuitionQuote:
    """What the course's price model charges for `hours` (per lesson) or for its package/term."""
    name = course.name
    if course.price_model == PriceModel.PER_LESSON:
        if hours is None or hours <= 0:
            raise ValidationFailed(_("Enter how many lessons to buy."), code="hours_required")
        quote = TuitionQuote(
            purchased_hours=hours,
            gift_hours=Decimal(0),
            unit_price=course.lesson_price,
            quantity=hours,
            description=_("%(course)s · %(hours)s lessons") % {"course": name, "hours": hours},
        )
    elif course.price_model == PriceModel.PACKAGE:
        quote = TuitionQuote(
            purchased_hours=course.package_hours,
            gift_hours=course.gift_hours,
            unit_price=course.package_price,
            quantity=Decimal(1),
            description=_("%(course)s · package of %(hours)s hours")
            % {"course": name, "hours": course.package_hours},
        )
    else:
        quote = TuitionQuote(
            purchased_hours=course.term_hours,
            gift_hours=Decimal(0),
            unit_price=course.term_fee,
            quantity=Decimal(1),
            description=_("%(course)s · term fee") % {"course": name},
        )
    if price_override is not None:
        if price_override < 0:
            raise ValidationFailed(_("The price cannot be negative."), code="price_invalid")
        quote = TuitionQuote(
            purchased_hours=quote.purchased_hours,
            gift_hours=quote.gift_hours,
            unit_price=price_override,
            quantity=Decimal(1),
            description=quote.description,
        )
    return quote


def active_enrolment_count(class_group: ClassGroup) -> int:
    return Enrolment.objects.filter(class_group=class_group, status=Enrolment.Status.ACTIVE).count()


def enrol_student(
    *,
    actor: User,
    student: Student,
    class_group: ClassGroup,
    hours: Decimal | None = None,
    price_override: int | None = None,
    discount: Discount | None = None,
    include_materials: bool = True,
    include_registration: bool = False,
    due_date: datetime.date | None = None,
    on_account: bool = True,
    online_payable: bool = False,
    external_notes: str = "",
    internal_notes: str = "",
    override_capacity: bool = False,
    valid_until: datetime.date | None = None,
) -> tuple[Enrolment, Order]:
    """Give the student a place in the class and issue the order for it, or refuse and write nothing."""
    with transaction.atomic():
        ensure_same_organization(actor, student)
        ensure_same_organization(actor, class_group)
        require(actor, Capability.ENROL, campus_id=class_group.campus_id)
        # Lock the class so two desks cannot both take its last seat.
        class_group = ClassGroup.objects.select_for_update().select_related("course").get(pk=class_group.pk)
        if not class_group.is_active:
            raise ValidationFailed(_("This class is closed for enrolment."), code="class_closed")
        if Enrolment.objects.filter(
            student=student, class_group=class_group, status=Enrolment.Status.ACTIVE
        ).exists():
            raise Conflict(
                _("%(student)s is already enrolled in %(class)s.")
                % {"student": student.name, "class": class_group.name},
                code="already_enrolled",
            )
        taken = active_enrolment_count(class_group)
        if taken >= class_group.capacity:
            if not override_capacity:
                raise Conflict(
                    _("%(class)s is full (%(taken)s of %(capacity)s seats taken).")
                    % {"class": class_group.name, "taken": taken, "capacity": class_group.capacity},
                    code="class_full",
                )
            if not has_capability(actor, Capability.OVERRIDE_CAPACITY):
                raise Conflict(
                    _("%(class)s is full and your role cannot add seats beyond its capacity.")
                    % {"class": class_group.name},
                    code="class_full",
                )
        course = class_group.course
        quote = quote_tuition(course=course, hours=hours, price_override=price_override)
        enrolment = Enrolment.objects.create(
            organization_id=student.organization_id,
            student=student,
            class_group=class_group,
            purchased_hours=quote.purchased_hours,
            gift_hours=quote.gift_hours,
            valid_until=valid_until,
            adviser=student.adviser,
            enrolled_by=actor,
        )
        open_enrolment_account(enrolment=enrolment)
        lines = [
            LineDraft(
                kind=OrderLine.Kind.TUITION,
                description=quote.description,
                unit_price=quote.unit_price,
                quantity=quote.quantity,
            )
        ]
        if include_materials and course.materials_fee:
            lines.append(
                LineDraft(
                    kind=OrderLine.Kind.MATERIALS,
                    description=_("Materials"),
                    unit_price=course.materials_fee,
                    discountable=False,
                )
            )
        if include_registration and course.registration_fee:
            lines.append(
                LineDraft(
                    kind=OrderLine.Kind.REGISTRATION,
                    description=_("Registration fee"),
                    unit_price=course.registration_fee,
                    discountable=False,
                )
            )
        order = create_order(
            actor=actor,
            student=student,
            lines=lines,
            due_date=due_date,
            discount=discount,
            kind=Order.Kind.ENROLMENT,
            on_account=on_account,
            online_payable=online_payable,
            external_notes=external_notes,
            internal_notes=internal_notes,
            enrolment_id=enrolment.pk,
        )
        tuition = order.lines.get(kind=OrderLine.Kind.TUITION)
        Enrolment.objects.filter(pk=enrolment.pk).update(tuition_amount=tuition.net_amount)
        enrolment.tuition_amount = tuition.net_amount
        record_audit(
            actor=actor,
            action="enrolment.created",
            target=enrolment,
            amount=order.total,
            data={
                "class": class_group.pk,
                "order": order.number,
                "over_capacity": taken >= class_group.capacity,
            },
        )
        return enrolment, order
