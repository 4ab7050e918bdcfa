"""One payment may settle several children's orders (the portal's cart), and be reversed cleanly."""

import pytest

from feedesk.billing.models import OrderStatus
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.selectors import student_account
from feedesk.payments.services import AllocationRequest, record_payment, reverse_payment


def test_one_payment_pays_two_childrens_orders(family, school):
    first, second = family.orders
    payment = record_payment(
        actor=school.cashier,
        student=family.children[0],
        amount=first.total + second.total + 1_000,
        channel="online",
        allocations=[AllocationRequest(first.pk, first.total), AllocationRequest(second.pk, second.total)],
    )
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
