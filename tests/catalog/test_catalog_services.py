import datetime
from decimal import Decimal

import pytest
from moneycheck import expect_error

from feedesk.catalog.models import ClassGroup, Course
from feedesk.catalog.selectors import classes_with_seats
from feedesk.catalog.services import create_class, create_course, create_subject
from feedesk.core.errors import NotFound, PermissionDenied
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import Account, AccountRole


def test_create_subject_opens_its_revenue_account(school):
    subject = create_subject(actor=school.principal, code="piano", name="钢琴", name_en="Piano")
    account = Account.objects.get(subject=subject, role=AccountRole.TUITION_REVENUE)
    assert account.code == "6001.piano"
    assert account.organization_id == school.org.pk


def test_create_courses_of_each_price_model(school):
    term = create_course(
        actor=school.principal,
        subject=school.subject,
        name="春季班",
        price_model="term",
        term_fee=300_000,
        term_hours=Decimal(20),
    )
    assert (term.price_model, term.term_fee) == ("term", 300_000)
    assert school.package_course.gift_hours == Decimal(4)
    assert school.lesson_course.lesson_price == 15_000


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"price_model": "per_lesson"}, "price_invalid"),
        ({"price_model": "package", "package_price": 100}, "price_invalid"),
        ({"price_model": "term"}, "price_invalid"),
        ({"price_model": "per_lesson", "lesson_price": 100, "materials_fee": -1}, "price_invalid"),
        ({"price_model": "per_lesson", "lesson_price": 100, "gift_hours": Decimal(-1)}, "hours_invalid"),
        ({"price_model": "bogus"}, "price_model_invalid"),
    ],
)
def test_create_course_refuses_bad_prices(school, kwargs, code):
    before = Course.objects.count()
    expect_error(
        lambda: create_course(actor=school.principal, subject=school.subject, name="x", **kwargs), code
    )
    assert Course.objects.count() == before


def test_create_class_validates_and_checks_ownership(school, other_school):
    make = school.make_class
    before = ClassGroup.objects.count()
    expect_error(lambda: make(school.lesson_course, capacity=0), "capacity_invalid", "at least one")
    with pytest.raises(NotFound):
        create_class(
            actor=school.principal,
            course=other_school.lesson_course,
            campus=school.campus,
            name="x",
            instructor=school.instructor,
            capacity=5,
            start_date=datetime.date(2026, 9, 1),
            end_date=datetime.date(2026, 12, 1),
            schedule=[],
        )
    with pytest.raises(PermissionDenied):
        create_class(
            actor=school.cashier,
            course=school.lesson_course,
            campus=school.campus,
            name="x",
            instructor=school.instructor,
            capacity=5,
            start_date=datetime.date(2026, 9, 1),
            end_date=datetime.date(2026, 12, 1),
            schedule=[],
        )
    for kwargs, code in [
        ({"start_date": datetime.date(2026, 9, 2), "end_date": datetime.date(2026, 9, 1)}, "dates_invalid"),
        ({"schedule": [(7, datetime.time(9), datetime.time(10))]}, "schedule_invalid"),
        ({"schedule": [(1, datetime.time(10), datetime.time(9))]}, "schedule_invalid"),
    ]:
        args = {
            "actor": school.principal,
            "course": school.lesson_course,
            "campus": school.campus,
            "name": "x",
            "instructor": school.instructor,
            "capacity": 5,
            "start_date": datetime.date(2026, 9, 1),
            "end_date": datetime.date(2026, 12, 1),
            "schedule": [],
        }
        args.update(kwargs)
        expect_error(lambda args=args: create_class(**args), code)
    assert ClassGroup.objects.count() == before


def test_cashier_cannot_change_the_catalog(school):
    with pytest.raises(PermissionDenied):
        create_subject(actor=school.cashier, code="art", name="美术")
    with pytest.raises(PermissionDenied):
        create_course(
            actor=school.adviser, subject=school.subject, name="x", price_model="per_lesson", lesson_price=1
        )


def test_classes_with_seats_counts_active_enrolments(school, other_school):
    enrol_student(actor=school.cashier, student=school.student(), class_group=school.klass)
    seats = {c.pk: c.enrolled for c in classes_with_seats(school.cashier)}
    assert seats == {school.klass.pk: 1, school.lesson_class.pk: 0}
