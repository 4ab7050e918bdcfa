import datetime
from decimal import Decimal
from itertools import product

import pytest
from moneycheck import assert_ledger_invariants, expect_error, nothing_written

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order, OrderLine, OrderStatus
from feedesk.billing.services import (
    ALLOWED_TRANSITIONS,
    Discount,
    DiscountKind,
    LineDraft,
    cancel_order,
    check_transition,
    create_order,
    issue_order,
    price_lines,
    update_order_flags,
)
from feedesk.core.errors import IllegalTransition, PermissionDenied, ValidationFailed
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import Account, AccountRole, EntryCode, JournalEntry
from feedesk.payments.services import AllocationRequest, record_payment

OTHER = OrderLine.Kind.OTHER


def other_line(description="校服", unit_price=10_001, quantity=Decimal(1)):
    return LineDraft(kind=OTHER, description=description, unit_price=unit_price, quantity=quantity)


@pytest.mark.parametrize(("current", "target"), list(product(OrderStatus.values, OrderStatus.values)))
def test_every_illegal_transition_raises(current, target):
    if current == target or target in ALLOWED_TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, target)
        assert caught.value.code == "illegal_transition"
        assert caught.value.http_status == 409


def test_lifecycle_draft_open_partially_paid_paid(school):
    student = school.student()
    order = create_order(
        actor=school.cashier, student=student, lines=[other_line(unit_price=30_000)], issue=False
    )
    assert (order.status, order.issue_entry_id) == (OrderStatus.DRAFT, None)
    assert order.balance == 0  # a draft is not owed yet
    assert Account.objects.get(student=student, role=AccountRole.RECEIVABLE).balance == 0
    order = issue_order(actor=school.cashier, order=order)
    assert order.status == OrderStatus.OPEN
    assert order.balance == 30_000
    pay = record_payment(
        actor=school.cashier,
        student=student,
        amount=10_000,
        channel="cash",
        allocations=[AllocationRequest(order.pk, 10_000)],
    )
    order.refresh_from_db()
    assert (order.status, order.paid, order.balance) == (OrderStatus.PARTIALLY_PAID, 10_000, 20_000)
    with nothing_written():
        expect_error(
            lambda: cancel_order(actor=school.cashier, order=order, reason="x"),
            "order_has_payments",
            "needs a refund, not a cancellation",
        )
    record_payment(actor=school.cashier, student=student, amount=20_000, channel="wechat_pay")
    order.refresh_from_db()
    assert (order.status, order.paid, order.balance) == (OrderStatus.PAID, 30_000, 0)
    with nothing_written():
        expect_error(lambda: cancel_order(actor=school.cashier, order=order), "order_has_payments")
    assert pay.receipt_number == "R00000001"
    assert_ledger_invariants(school.org.pk)


def test_issuing_an_issued_order_again_is_an_illegal_transition(school):
    order = create_order(actor=school.cashier, student=school.student(), lines=[other_line()])
    with nothing_written():
        expect_error(
            lambda: issue_order(actor=school.cashier, order=order),
            "illegal_transition",
            error=IllegalTransition,
        )


def test_cancel_open_order_reverses_its_issue_entry(school):
    student = school.student()
    enrolment, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    order = cancel_order(actor=school.cashier, order=order, reason="changed their mind")
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "changed their mind"
    reversal = JournalEntry.objects.get(code=EntryCode.ORDER_CANCELLED)
    assert reversal.reverses_id == order.issue_entry_id
    assert Account.objects.get(student=student, role=AccountRole.RECEIVABLE).balance == 0
    assert Account.objects.get(enrolment=enrolment).balance == 0
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.CANCELLED
    audit = AuditEntry.objects.get(action="order.cancelled")
    assert (audit.actor, audit.amount) == (school.cashier, order.total)
    with nothing_written():
        expect_error(
            lambda: cancel_order(actor=school.cashier, order=order), "illegal_transition", "cannot go from"
        )
        expect_error(lambda: issue_order(actor=school.cashier, order=order), "illegal_transition")
    assert_ledger_invariants(school.org.pk)


def test_cancel_draft_posts_nothing(school):
    order = create_order(actor=school.cashier, student=school.student(), lines=[other_line()], issue=False)
    entries = JournalEntry.objects.count()
    order = cancel_order(actor=school.cashier, order=order)
    assert order.status == OrderStatus.CANCELLED
    assert JournalEntry.objects.count() == entries


def test_order_fully_reversed_back_to_open_can_be_cancelled(school):
    from feedesk.payments.services import reverse_payment

    student = school.student()
    order = create_order(actor=school.cashier, student=student, lines=[other_line(unit_price=5_000)])
    payment = record_payment(actor=school.cashier, student=student, amount=5_000, channel="cash")
    reverse_payment(actor=school.finance, payment=payment, reason="wrong student")
    order = cancel_order(actor=school.cashier, order=order, reason="not needed")
    assert order.status == OrderStatus.CANCELLED
    assert_ledger_invariants(school.org.pk)


def test_cancelling_a_renewal_order_keeps_the_enrolment(school):
    student = school.student()
    enrolment, first = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    record_payment(actor=school.cashier, student=student, amount=first.total, channel="cash")
    renewal = create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.TUITION, description="续费 24 课时", unit_price=288_000)],
        kind=Order.Kind.ENROLMENT,
        enrolment_id=enrolment.pk,
    )
    cancel_order(actor=school.cashier, order=renewal, reason="renewal not wanted")
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert Account.objects.get(enrolment=enrolment).balance == 576_000
    assert_ledger_invariants(school.org.pk)


def test_manual_order_with_free_lines_credits_other_income(school):
    student = school.student()
    order = create_order(
        actor=school.cashier,
        student=student,
        lines=[other_line("校服", 8_000, Decimal(2)), other_line("保险", 5_050)],
        due_date=datetime.date(2026, 10, 1),
        external_notes="请于开学前缴清",
    )
    assert order.kind == Order.Kind.MANUAL
    assert order.total == 21_050
    assert order.due_date == datetime.date(2026, 10, 1)
    assert Account.objects.get(organization=school.org, role=AccountRole.OTHER_INCOME).balance == 21_050
    assert Account.objects.get(student=student, role=AccountRole.RECEIVABLE).balance == 21_050
    assert_ledger_invariants(school.org.pk)


def test_percent_discount_over_odd_lines_sums_exactly(school):
    lines = [other_line(f"项目{i}", price) for i, price in enumerate([10_001, 33_333, 7, 99_999, 12_345])]
    priced = price_lines(lines, Discount(DiscountKind.PERCENT, 3_333))
    subtotal = sum(g for g, _d, _n in priced)
    expected_discount = 51_895  # 33.33% of 155,685 fen = 51,889.81 → 51,890? see below
    expected_discount = (subtotal * 3_333 * 2 + 10_000) // 20_000  # exact share, half up
    assert sum(d for _g, d, _n in priced) == expected_discount
    assert sum(n for _g, _d, n in priced) == subtotal - expected_discount
    for (gross, discount, net), line in zip(priced, lines, strict=True):
        assert gross == line.unit_price
        assert net == gross - discount
        assert abs(discount - gross * 3_333 / 10_000) < 1
    order = create_order(
        actor=school.cashier,
        student=school.student(),
        lines=lines,
        discount=Discount(DiscountKind.PERCENT, 3_333),
    )
    assert order.total == subtotal - expected_discount
    assert sum(line.net_amount for line in order.lines.all()) == order.total
    assert sum(line.discount_amount for line in order.lines.all()) == expected_discount


def test_fixed_discount_is_spread_over_discountable_lines_only(school):
    lines = [
        other_line("A", 10_000),
        other_line("B", 20_000),
        LineDraft(kind=OrderLine.Kind.MATERIALS, description="教材", unit_price=5_000, discountable=False),
    ]
    priced = price_lines(lines, Discount(DiscountKind.FIXED, 1_000))
    assert priced == [(10_000, 333, 9_667), (20_000, 667, 19_333), (5_000, 0, 5_000)]


@pytest.mark.parametrize(
    ("lines", "discount", "code"),
    [
        ([], None, "order_empty"),
        ([other_line(" ")], None, "line_description_required"),
        ([other_line(quantity=Decimal(0))], None, "quantity_invalid"),
        ([other_line(unit_price=-5)], None, "amount_not_positive"),
        ([other_line(unit_price=0)], None, "order_total_not_positive"),
        ([other_line(unit_price=100)], Discount(DiscountKind.FIXED, 101), "discount_too_large"),
        ([other_line(unit_price=100)], Discount(DiscountKind.PERCENT, 10_001), "discount_invalid"),
        ([other_line(unit_price=100)], Discount(DiscountKind.PERCENT, 10_000), "order_total_not_positive"),
        (
            [LineDraft(kind=OrderLine.Kind.TUITION, description="学费", unit_price=100)],
            None,
            "tuition_without_enrolment",
        ),
    ],
)
def test_bad_orders_are_refused_and_nothing_is_written(school, lines, discount, code):
    student = school.student()
    with nothing_written():
        expect_error(
            lambda: create_order(actor=school.cashier, student=student, lines=lines, discount=discount), code
        )


def test_update_order_flags_changes_only_what_the_payer_sees(school):
    order = create_order(actor=school.cashier, student=school.student(), lines=[other_line()])
    updated = update_order_flags(
        actor=school.cashier,
        order=order,
        online_payable=True,
        external_notes="可在线支付",
        internal_notes="家长已电话确认",
        due_date=datetime.date(2026, 12, 1),
    )
    assert (updated.online_payable, updated.external_notes, updated.internal_notes) == (
        True,
        "可在线支付",
        "家长已电话确认",
    )
    assert updated.due_date == datetime.date(2026, 12, 1)
    assert (updated.total, updated.paid, updated.status) == (order.total, 0, OrderStatus.OPEN)
    audit = AuditEntry.objects.get(action="order.updated")
    assert audit.actor == school.cashier
    assert audit.data["online_payable"] == "True"
    with nothing_written(), pytest.raises(PermissionDenied):
        update_order_flags(actor=school.adviser, order=order, online_payable=False)


def test_discount_amount_on_checks_its_value():
    with pytest.raises(ValidationFailed):
        Discount(DiscountKind.FIXED, -1).amount_on(100)
    assert Discount(DiscountKind.PERCENT, 0).amount_on(100) == 0
