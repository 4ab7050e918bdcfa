import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from feedesk.catalog.models import ClassGroup, Course, PriceModel, ScheduleSlot, Subject
from feedesk.core.errors import ValidationFailed
from feedesk.core.permissions import Capability, ensure_same_organization, require
from feedesk.ledger.services import open_subject_account
from feedesk.organizations.models import Campus
from feedesk.users.models import User


@transaction.atomic
def create_subject(*, actor: User, code: str, name: str, name_en: str = "") -> Subject:
    require(actor, Capability.MANAGE_CATALOG)
    if not code.strip() or not name.strip():
        raise ValidationFailed(_("A subject needs a code and a name."), code="subject_invalid")
    assert actor.organization_id is not None
    subject = Subject.objects.create(
        organization_id=actor.organization_id, code=code.strip(), name=name.strip(), name_en=name_en.strip()
    )
    open_subject_account(subject=subject)
    return subject


@transaction.atomic
def create_course(
    *,
    actor: User,
    subject: Subject,
    name: str,
    price_model: str,
    name_en: str = "",
    lesson_price: int = 0,
    package_hours: Decimal = Decimal(0),
    package_price: int = 0,
    gift_hours: Decimal = Decimal(0),
    term_fee: int = 0,
    term_hours: Decimal = Decimal(0),
    materials_fee: int = 0,
    registration_fee: int = 0,
) -> Course:
    require(actor, Capability.MANAGE_CATALOG)
    ensure_same_organization(actor, subject)
    if price_model not in PriceModel.values:
        raise ValidationFailed(_("Unknown price model."), code="price_model_invalid")
    for value in (lesson_price, package_price, term_fee, materials_fee, registration_fee):
        if value < 0:
            raise ValidationFailed(_("Prices cannot be negative."), code="price_invalid")
    if price_model == PriceModel.PER_LESSON and lesson_price <= 0:
        raise ValidationFailed(_("A per-lesson course needs a lesson price."), code="price_invalid")
    if price_model == PriceModel.PACKAGE and (package_hours <= 0 or package_price <= 0):
        raise ValidationFailed(_("A package needs its hours and its price."), code="price_invalid")
    if price_model == PriceModel.TERM and term_fee <= 0:
        raise ValidationFailed(_("A term course needs a term fee."), code="price_invalid")
    if gift_hours < 0:
        raise ValidationFailed(_("Gift hours cannot be negative."), code="hours_invalid")
    return Course.objects.create(
        organization_id=subject.organization_id,
        subject=subject,
        name=name.strip(),
        name_en=name_en.strip(),
        price_model=price_model,
        lesson_price=lesson_price,
        package_hours=package_hours,
        package_price=package_price,
        gift_hours=gift_hours,
        term_fee=term_fee,
        term_hours=term_hours,
        materials_fee=materials_fee,
        registration_fee=registration_fee,
    )


@transaction.atomic
def create_class(
    *,
    actor: User,
    course: Course,
    campus: Campus,
    name: str,
    instructor: User,
    capacity: int,
    start_date: datetime.date,
    end_date: datetime.date,
    schedule: list[tuple[int, datetime.time, datetime.time]],
    head_teacher: User | None = None,
    session_hours: Decimal = Decimal(1),
) -> ClassGroup:
    """A class with its weekly schedule: (weekday 0=Monday, start, end) per meeting."""
    require(actor, Capability.MANAGE_CATALOG, campus_id=campus.pk)
    for obj in (course, campus, instructor):
        ensure_same_organization(actor, obj)
    if capacity <= 0:
        raise ValidationFailed(_("Capacity must be at least one."), code="capacity_invalid")
    if end_date < start_date:
        raise ValidationFailed(_("A class cannot end before it starts."), code="dates_invalid")
    for weekday, start, end in schedule:
        if not 0 <= weekday <= 6 or end <= start:
            raise ValidationFailed(
                _("Each meeting needs a weekday and an end after its start."), code="schedule_invalid"
            )
    group = ClassGroup.objects.create(
        organization_id=course.organization_id,
        course=course,
        campus=campus,
        name=name.strip(),
        instructor=instructor,
        head_teacher=head_teacher,
        capacity=capacity,
        start_date=start_date,
        end_date=end_date,
        session_hours=session_hours,
    )
    ScheduleSlot.objects.bulk_create(
        ScheduleSlot(class_group=group, weekday=w, start_time=s, end_time=e) for w, s, e in schedule
    )
    return group
