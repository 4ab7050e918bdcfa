"""Property: over random packages, roll calls, corrections, arrears and expiry, not a fen is
lost or invented and the hours always add up."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sessiondays import PAST

from feedesk.attendance.selectors import hours_position
from feedesk.attendance.services import Mark, expire_enrolments, take_roll_call
from feedesk.billing.models import OrderLine, OrderStatus
from feedesk.catalog.models import Course
from feedesk.catalog.services import create_class, create_course
from feedesk.core.errors import Conflict
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.selectors import verify_ledger

from .conftest import Hours

halves = st.integers(min_value=1, max_value=8).map(lambda n: Decimal(n) / 2)
mark = st.sampled_from(
    [
        ("present", None),
        ("absent", None),
        ("leave", None),
        ("leave", "sick"),
        ("absent", "no_show"),
        ("leave", "personal"),
    ]
)
operation = st.one_of(
    st.tuples(st.just("roll_call"), halves, mark, st.booleans()),
    st.tuples(st.just("correct"), st.integers(min_value=0, max_value=30), mark, st.booleans()),
)


def billed_tuition(enrolment):
    return (
        OrderLine.objects.filter(order__enrolment=enrolment, kind=OrderLine.Kind.TUITION)
        .exclude(order__status=OrderStatus.CANCELLED)
        .aggregate(s=Sum("net_amount"))["s"]
        or 0
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    package_hours=st.integers(min_value=1, max_value=120).map(lambda n: Decimal(n) / 2),
    price=st.integers(min_value=1, max_value=5_000_000),
    gift=st.integers(min_value=0, max_value=6).map(lambda n: Decimal(n) / 2),
    gift_first=st.booleans(),
    operations=st.lists(operation, max_size=14),
    expire=st.booleans(),
)
# Half an hour beyond a one-hour package sold for one fen comes to half a fen: nothing to bill.
@example(
    package_hours=Decimal(1),
    price=1,
    gift=Decimal(0),
    gift_first=False,
    operations=[("roll_call", Decimal("1.5"), ("present", None), True)],
    expire=False,
)
def test_recognised_plus_deferred_is_what_was_billed(
    school, hours_factory, package_hours, price, gift, gift_first, operations, expire
):
    with transaction.atomic():
        helper: Hours = hours_factory()
        from feedesk.attendance.services import update_settings

        update_settings(actor=school.principal, gift_hours_first=gift_first)
        course = create_course(
            actor=school.principal,
            subject=school.subject,
            name="随机课包",
            price_model="package",
            package_hours=package_hours,
            package_price=price,
            gift_hours=gift,
        )
        Course.objects.filter(pk=course.pk).update(expiry_applies=True)
        klass = create_class(
            actor=school.principal,
            course=course,
            campus=school.campus,
            name="随机班",
            instructor=school.instructor,
            capacity=5,
            start_date=PAST,
            end_date=PAST + datetime.timedelta(days=90),
            schedule=[(5, datetime.time(9), datetime.time(10))],
        )
        student = school.student(name="随机")
        enrolment, _order = enrol_student(
            actor=school.cashier,
            student=student,
            class_group=klass,
            valid_until=PAST + datetime.timedelta(days=60),
        )
        sessions = []
        for op in operations:
            kind, arg, (status, reason), overdraw = op
            if kind == "roll_call":
                session = helper.session(klass=klass, hours=arg)
                sessions.append(session)
            elif sessions:
                session = sessions[arg % len(sessions)]
            else:
                continue
            try:
                take_roll_call(
                    actor=school.principal,
                    session=session,
                    marks=[Mark(student.pk, status, reason)],
                    allow_overdraw=overdraw,
                )
            except Conflict as refused:
                assert refused.code in {"hours_exhausted", "makeup_credit_used", "enrolment_expired"}
            enrolment.refresh_from_db()
            position = hours_position(enrolment)
            assert position.recognised_amount + position.deferred_amount == billed_tuition(enrolment)
            assert (
                position.remaining_hours
                == position.purchased_hours + position.gift_hours - position.consumed_hours
            )
            assert position.remaining_hours >= 0
            assert position.consumed_hours == position.paid_consumed_hours + position.gift_consumed_hours
            if position.paid_consumed_hours == position.purchased_hours:
                assert position.deferred_amount == 0
        if expire:
            expire_enrolments(as_of=PAST + datetime.timedelta(days=61))
            expire_enrolments(as_of=PAST + datetime.timedelta(days=62))
            position = hours_position(Enrolment.objects.get(pk=enrolment.pk))
            assert position.deferred_amount == 0
            assert position.recognised_amount == billed_tuition(enrolment)
        report = verify_ledger(organization_id=school.org.pk)
        assert report.ok, report.problems
        transaction.set_rollback(True)
