from decimal import Decimal

import pytest
from moneycheck import assert_ledger_invariants, expect_error, nothing_written

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import OrderLine, OrderStatus
from feedesk.billing.services import Discount, DiscountKind
from feedesk.catalog.models import ClassGroup
from feedesk.catalog.services import create_course
from feedesk.core.errors import Conflict
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import Account, AccountRole, EntryCode


def balance(**lookup) -> int:
    return Account.objects.get(**lookup).balance


def test_package_enrolment_issues_an_order_and_defers_tuition(school):
    student = school.student()
    enrolment, order = enrol_student(
        actor=school.cashier, student=student, class_group=school.klass, include_registration=True
    )
    assert (enrolment.purchased_hours, enrolment.gift_hours) == (Decimal(48), Decimal(4))
    assert enrolment.remaining_hours == Decimal(52)
    assert enrolment.tuition_amount == 576_000
    assert order.status == OrderStatus.OPEN
    assert order.enrolment_id == enrolment.pk
    lines = {line.kind: line.net_amount for line in order.lines.all()}
    assert lines == {"tuition": 576_000, "materials": 12_000, "registration": 5_000}
    assert order.total == 593_000
    assert order.issue_entry.code == EntryCode.ORDER_ISSUED
    # Issuing makes a receivable and a liability, never revenue (rule 7).
    assert balance(student=student, role=AccountRole.RECEIVABLE) == 593_000
    assert balance(enrolment=enrolment) == 576_000
    assert balance(organization=school.org, role=AccountRole.MATERIALS_INCOME) == 12_000
    assert balance(organization=school.org, role=AccountRole.REGISTRATION_INCOME) == 5_000
    assert balance(subject=school.subject, role=AccountRole.TUITION_REVENUE) == 0
    actions = set(AuditEntry.objects.filter(actor=school.cashier).values_list("action", "amount"))
    assert {("enrolment.created", 593_000), ("order.created", 593_000), ("order.issued", 593_000)} <= actions
    assert_ledger_invariants(school.org.pk)


def test_per_lesson_enrolment_charges_the_lessons_bought(school):
    student = school.student()
    enrolment, order = enrol_student(
        actor=school.cashier, student=student, class_group=school.lesson_class, hours=Decimal(10)
    )
    assert enrolment.purchased_hours == Decimal(10)
    assert order.total == 150_000
    expect_error(
        lambda: enrol_student(
            actor=school.cashier, student=school.student(name="李四"), class_group=school.lesson_class
        ),
        "hours_required",
        "how many lessons",
    )


def test_term_enrolment(school):
    course = create_course(
        actor=school.principal,
        subject=school.subject,
        name="春季班",
        price_model="term",
        term_fee=300_000,
        term_hours=Decimal(20),
    )
    klass = school.make_class(course, capacity=5, name="春季A班")
    enrolment, order = enrol_student(actor=school.cashier, student=school.student(), class_group=klass)
    assert enrolment.purchased_hours == Decimal(20)
    assert order.total == 300_000


def test_price_override_replaces_the_tuition(school):
    enrolment, order = enrol_student(
        actor=school.cashier, student=school.student(), class_group=school.klass, price_override=500_000
    )
    assert enrolment.tuition_amount == 500_000
    assert order.total == 512_000
    expect_error(
        lambda: enrol_student(
            actor=school.cashier,
            student=school.student(name="李四"),
            class_group=school.klass,
            price_override=-1,
        ),
        "price_invalid",
    )


def test_fixed_and_percent_discounts_apply_to_tuition_not_materials(school):
    _e, fixed = enrol_student(
        actor=school.cashier,
        student=school.student(),
        class_group=school.klass,
        discount=Discount(DiscountKind.FIXED, 76_000),
    )
    tuition = fixed.lines.get(kind=OrderLine.Kind.TUITION)
    assert (tuition.gross_amount, tuition.discount_amount, tuition.net_amount) == (576_000, 76_000, 500_000)
    assert fixed.lines.get(kind=OrderLine.Kind.MATERIALS).discount_amount == 0
    assert fixed.total == 512_000
    enrolment, percent = enrol_student(
        actor=school.cashier,
        student=school.student(name="李四"),
        class_group=school.klass,
        discount=Discount(DiscountKind.PERCENT, 3_333),
    )
    # 33.33% of 5,760.00 = 1,919.808 → 1,919.81
    assert percent.lines.get(kind=OrderLine.Kind.TUITION).discount_amount == 191_981
    assert enrolment.tuition_amount == 576_000 - 191_981
    assert percent.total == 576_000 - 191_981 + 12_000
    assert balance(enrolment=enrolment) == enrolment.tuition_amount
    assert_ledger_invariants(school.org.pk)


def test_full_class_is_refused_clearly_and_nothing_is_written(school):
    klass = school.make_class(school.package_course, capacity=1, name="小班")
    enrol_student(actor=school.cashier, student=school.student(), class_group=klass)
    late = school.student(name="李四")
    with nothing_written():
        expect_error(
            lambda: enrol_student(actor=school.cashier, student=late, class_group=klass),
            "class_full",
            "小班 is full (1 of 1 seats taken)",
            error=Conflict,
        )
        # Asking for an override does not help a role without the capability.
        expect_error(
            lambda: enrol_student(
                actor=school.cashier, student=late, class_group=klass, override_capacity=True
            ),
            "class_full",
            "your role cannot add seats",
            error=Conflict,
        )
    enrolment, _order = enrol_student(
        actor=school.principal, student=late, class_group=klass, override_capacity=True
    )
    assert Enrolment.objects.filter(class_group=klass, status=Enrolment.Status.ACTIVE).count() == 2
    assert (
        AuditEntry.objects.get(action="enrolment.created", target_id=enrolment.pk).data["over_capacity"]
        is True
    )


def test_cancelled_enrolment_frees_its_seat(school):
    from feedesk.billing.services import cancel_order

    klass = school.make_class(school.package_course, capacity=1, name="小班")
    _e, order = enrol_student(actor=school.cashier, student=school.student(), class_group=klass)
    cancel_order(actor=school.cashier, order=order, reason="changed their mind")
    enrol_student(actor=school.cashier, student=school.student(name="李四"), class_group=klass)


def test_enrolling_twice_or_into_a_closed_class_is_refused(school):
    student = school.student()
    enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    with nothing_written():
        expect_error(
            lambda: enrol_student(actor=school.cashier, student=student, class_group=school.klass),
            "already_enrolled",
            "already enrolled",
        )
    ClassGroup.objects.filter(pk=school.lesson_class.pk).update(is_active=False)
    with nothing_written():
        expect_error(
            lambda: enrol_student(
                actor=school.cashier, student=student, class_group=school.lesson_class, hours=Decimal(1)
            ),
            "class_closed",
            "closed for enrolment",
        )


@pytest.mark.parametrize("role", ["adviser", "head_teacher", "instructor"])
def test_roles_without_money_cannot_enrol(school, role):
    from feedesk.core.errors import PermissionDenied

    student = school.student()
    with nothing_written(), pytest.raises(PermissionDenied):
        enrol_student(actor=school.users[role], student=student, class_group=school.klass)
