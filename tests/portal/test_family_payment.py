"""One payment may settle several children's orders (the portal's cart), and be reversed cleanly."""

import pytest

from feedesk.billing.models import OrderStatus
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.selectors import student_account
from feedesk.payments.services import AllocationRequest, record_payment, reverse_payment


def test_one_payment_pays_two_childrens_orders(family, school):
    first, second = family.orders
    payment = family.pay_at_desk(family.children[0], [first, second], extra=1_000, channel="online")
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
    assert student_account(student=family.children[1]).balance_due == 0
    assert student_account(student=family.children[0]).credit == 1_000
    report = verify_ledger()
    assert report.ok, report.problems
    reverse_payment(actor=school.finance, payment=payment, reason="test")
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == OrderStatus.OPEN
    assert verify_ledger().ok


def test_a_payment_cannot_reach_another_familys_order(family, stranger, school):
    with pytest.raises(Exception, match="not found"):
        record_payment(
            actor=school.cashier,
            student=family.children[0],
            amount=1_000,
            channel="cash",
            allocations=[AllocationRequest(stranger.orders[0].pk, 1_000)],
        )


def test_capped_allocations_take_what_is_still_owed_and_credit_the_rest(family, stranger, school):
    """Online checkouts cap their allocations under lock: paid or foreign orders take nothing."""
    first, second = family.orders
    record_payment(actor=school.cashier, student=first.student, amount=40_000, channel="cash")
    payment = record_payment(
        actor=school.cashier,
        student=family.children[0],
        amount=first.total + second.total + 5_000,
        channel="online",
        allocations=[
            AllocationRequest(first.pk, first.total),
            AllocationRequest(second.pk, second.total),
            AllocationRequest(stranger.orders[0].pk, 5_000),
        ],
        cap_allocations=True,
    )
    assert {a.order_id: a.amount for a in payment.allocations.all()} == {
        first.pk: first.total - 40_000,
        second.pk: second.total,
    }
    assert student_account(student=family.children[0]).credit == 40_000 + 5_000
    stranger.orders[0].refresh_from_db()
    assert stranger.orders[0].paid == 0
    assert verify_ledger().ok
