import datetime

import pytest
from django.utils import timezone
from moneycheck import assert_ledger_invariants, expect_error, nothing_written

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import OrderLine, OrderStatus
from feedesk.billing.services import LineDraft, cancel_order, create_order
from feedesk.core.errors import Conflict, NotFound, ValidationFailed
from feedesk.ledger.models import Account, AccountRole, EntryCode, JournalEntry
from feedesk.payments.models import Allocation, Payment
from feedesk.payments.selectors import propose_allocation, student_account
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment
from feedesk.people.services import create_guardian


def make_order(school, student, amount, due=None, issue=True):
    return create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="杂费", unit_price=amount)],
        due_date=due,
        issue=issue,
    )


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


def balances(student):
    account = student_account(student=student)
    return account.balance_due, account.credit


@pytest.fixture
def student(school):
    return school.student()


def test_explicit_allocations_across_several_orders(school, student):
    a = make_order(school, student, 30_000)
    b = make_order(school, student, 20_000)
    c = make_order(school, student, 10_000)
    payment = record_payment(
        actor=school.cashier,
        student=student,
        amount=45_000,
        channel="wechat_pay",
        reference="wx-1",
        allocations=[AllocationRequest(b.pk, 20_000), AllocationRequest(a.pk, 15_000)],
    )
    refreshed(a, b, c)
    assert (a.status, a.paid) == (OrderStatus.PARTIALLY_PAID, 15_000)
    assert (b.status, b.paid) == (OrderStatus.PAID, 20_000)
    assert (c.status, c.paid) == (OrderStatus.OPEN, 0)
    assert payment.allocated == 35_000
    assert balances(student) == (60_000 - 35_000, 10_000)  # the rest is credit
    entries = {e.code: e for e in JournalEntry.objects.filter(code__in=["PAYMENT_RECEIVED", "ALLOCATION"])}
    received = dict(entries[EntryCode.PAYMENT_RECEIVED].postings.values_list("account__role", "amount"))
    assert received == {AccountRole.CLEARING: 45_000, AccountRole.STUDENT_CREDIT: -45_000}
    allocated = dict(entries[EntryCode.ALLOCATION].postings.values_list("account__role", "amount"))
    assert allocated == {AccountRole.STUDENT_CREDIT: 35_000, AccountRole.RECEIVABLE: -35_000}
    assert_ledger_invariants(school.org.pk)


def test_auto_allocation_pays_oldest_due_first_and_keeps_the_excess_as_credit(school, student):
    later = make_order(school, student, 30_000, due=datetime.date(2026, 12, 1))
    older = make_order(school, student, 20_000, due=datetime.date(2026, 10, 1))
    same_day = make_order(school, student, 5_000, due=datetime.date(2026, 12, 1))
    proposal = propose_allocation(orders=[later, same_day, older], amount=40_000)
    assert [(o.pk, amount) for o, amount in proposal] == [(older.pk, 20_000), (later.pk, 20_000)]
    record_payment(actor=school.cashier, student=student, amount=40_000, channel="cash")
    refreshed(later, older, same_day)
    assert (older.paid, later.paid, same_day.paid) == (20_000, 20_000, 0)
    record_payment(actor=school.cashier, student=student, amount=20_000, channel="pos")
    refreshed(later, older, same_day)
    assert (later.status, same_day.status) == (OrderStatus.PAID, OrderStatus.PAID)
    assert balances(student) == (0, 5_000)
    cash = Account.objects.get(role=AccountRole.CASH, campus=school.campus)
    assert cash.balance == 40_000
    assert_ledger_invariants(school.org.pk)


def test_payment_with_nothing_owed_is_all_credit_and_credit_can_be_applied(school, student):
    payment = record_payment(actor=school.cashier, student=student, amount=50_000, channel="alipay")
    assert payment.allocated == 0
    assert balances(student) == (0, 50_000)
    order = make_order(school, student, 30_000)
    allocation = apply_credit(actor=school.cashier, student=student, order=order, amount=30_000)
    assert allocation.from_credit and allocation.payment_id is None
    order.refresh_from_db()
    assert (order.status, order.paid) == (OrderStatus.PAID, 30_000)
    assert balances(student) == (0, 20_000)
    assert JournalEntry.objects.filter(code=EntryCode.CREDIT_APPLIED).count() == 1
    audit = AuditEntry.objects.get(action="credit.applied")
    assert (audit.actor, audit.amount, audit.target_id) == (school.cashier, 30_000, order.pk)
    second = make_order(school, student, 30_000)
    with nothing_written():
        expect_error(
            lambda: apply_credit(actor=school.cashier, student=student, order=second, amount=25_000),
            "allocation_exceeds_payment",
            "more than the ¥200.00 available",
        )
    assert_ledger_invariants(school.org.pk)


def test_reverse_payment_puts_orders_back_and_needs_a_reason(school, student):
    a = make_order(school, student, 30_000)
    b = make_order(school, student, 20_000)
    payment = record_payment(actor=school.cashier, student=student, amount=60_000, channel="bank_transfer")
    refreshed(a, b)
    assert (a.status, b.status) == (OrderStatus.PAID, OrderStatus.PAID)
    with nothing_written():
        expect_error(
            lambda: reverse_payment(actor=school.finance, payment=payment, reason="  "),
            "reason_required",
            "Give a reason",
        )
    reversed_payment = reverse_payment(actor=school.finance, payment=payment, reason="录错学员")
    assert reversed_payment.status == Payment.Status.REVERSED
    assert (reversed_payment.reversed_by, reversed_payment.reversal_reason) == (school.finance, "录错学员")
    refreshed(a, b)
    assert (a.status, a.paid, b.status, b.paid) == (OrderStatus.OPEN, 0, OrderStatus.OPEN, 0)
    assert balances(student) == (50_000, 0)
    negatives = Allocation.objects.filter(payment=payment, amount__lt=0)
    assert sorted(n.amount for n in negatives) == [-30_000, -20_000]
    assert all(n.reverses_id for n in negatives)
    reversals = JournalEntry.objects.filter(code=EntryCode.REVERSAL)
    assert {r.reverses_id for r in reversals} == {
        payment.entry_id,
        Allocation.objects.filter(payment=payment).first().entry_id,
    }
    audit = AuditEntry.objects.get(action="payment.reversed")
    assert (audit.actor, audit.amount, audit.data["reason"]) == (school.finance, 60_000, "录错学员")
    with nothing_written():
        expect_error(
            lambda: reverse_payment(actor=school.finance, payment=payment, reason="again"),
            "payment_already_reversed",
            "is already reversed",
            error=Conflict,
        )
    assert_ledger_invariants(school.org.pk)


def test_reversal_is_refused_once_the_credit_it_left_has_been_used(school, student):
    payment = record_payment(actor=school.cashier, student=student, amount=50_000, channel="cash")
    order = make_order(school, student, 40_000)
    apply_credit(actor=school.cashier, student=student, order=order, amount=40_000)
    with nothing_written():
        expect_error(
            lambda: reverse_payment(actor=school.finance, payment=payment, reason="wrong"),
            "credit_already_used",
            "has since been used",
            error=Conflict,
        )


def test_receipts_are_numbered_in_sequence_per_organization(school, other_school, student):
    receipts = [
        record_payment(actor=school.cashier, student=student, amount=100 * i, channel="cash").receipt_number
        for i in range(1, 4)
    ]
    assert receipts == ["R00000001", "R00000002", "R00000003"]
    other = record_payment(
        actor=other_school.cashier, student=other_school.student(), amount=100, channel="cash"
    )
    assert other.receipt_number == "R00000001"


def test_every_payment_writes_an_audit_row_with_actor_and_amounts(school, student):
    order = make_order(school, student, 30_000)
    payment = record_payment(actor=school.cashier, student=student, amount=35_000, channel="pos")
    audit = AuditEntry.objects.get(action="payment.recorded", target_id=payment.pk)
    assert (audit.actor, audit.amount, audit.organization_id) == (school.cashier, 35_000, school.org.pk)
    assert audit.data == {"channel": "pos", "allocations": {str(order.pk): 30_000}, "to_credit": 5_000}


def test_idempotency_key_returns_the_same_payment(school, student):
    make_order(school, student, 30_000)
    first = record_payment(
        actor=school.cashier, student=student, amount=10_000, channel="cash", idempotency_key="k-1"
    )
    with nothing_written():
        again = record_payment(
            actor=school.cashier, student=student, amount=10_000, channel="cash", idempotency_key="k-1"
        )
    assert again.pk == first.pk
    other = record_payment(
        actor=school.cashier, student=student, amount=10_000, channel="cash", idempotency_key="k-2"
    )
    assert other.pk != first.pk
    assert_ledger_invariants(school.org.pk)


def test_idempotency_key_survives_a_unique_violation_from_a_concurrent_twin(school, student, monkeypatch):
    # Simulate the race: the first lookup misses although a twin has committed the key.
    first = record_payment(
        actor=school.cashier, student=student, amount=10_000, channel="cash", idempotency_key="k"
    )
    from django.db.models import QuerySet

    real_first = QuerySet.first
    misses = iter([True])

    def first_or_miss(qs):
        if qs.model is Payment and next(misses, False):
            return None
        return real_first(qs)

    monkeypatch.setattr(QuerySet, "first", first_or_miss)
    with nothing_written():
        again = record_payment(
            actor=school.cashier, student=student, amount=10_000, channel="cash", idempotency_key="k"
        )
    assert again.pk == first.pk


def test_received_at_sets_the_entry_date(school, student):
    when = timezone.now() - datetime.timedelta(days=3)
    payment = record_payment(
        actor=school.cashier, student=student, amount=100, channel="cash", received_at=when
    )
    assert payment.entry.effective_date == timezone.localdate(when)


# Bad input: a clear error, and nothing saved ----------------------------------------------------


def test_bad_amounts_are_refused(school, student):
    order = make_order(school, student, 30_000)
    with nothing_written():
        for amount, code, english in [
            (-100, "amount_not_positive", "greater than zero"),
            (0, "amount_not_positive", "greater than zero"),
            (12.5, "amount_invalid", "whole number of fen"),
        ]:
            expect_error(
                lambda amount=amount: record_payment(
                    actor=school.cashier, student=student, amount=amount, channel="cash"
                ),
                code,
                english,
            )
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=100,
                channel="cash",
                allocations=[AllocationRequest(order.pk, 0)],
            ),
            "amount_not_positive",
        )


def test_too_many_decimals_from_a_form_never_reach_a_payment():
    from feedesk.core.money import parse_amount

    expect_error(lambda: parse_amount("100.001"), "amount_too_precise", "at most two decimal places")


def test_allocation_larger_than_the_balance_is_refused(school, student):
    order = make_order(school, student, 30_000)
    with nothing_written():
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=40_000,
                channel="cash",
                allocations=[AllocationRequest(order.pk, 30_001)],
            ),
            "allocation_exceeds_balance",
            "is more than the ¥300.00 still owed on order",
        )


def test_allocations_adding_up_to_more_than_the_payment_are_refused(school, student):
    a = make_order(school, student, 30_000)
    b = make_order(school, student, 30_000)
    with nothing_written():
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=40_000,
                channel="cash",
                allocations=[AllocationRequest(a.pk, 30_000), AllocationRequest(b.pk, 10_001)],
            ),
            "allocation_exceeds_payment",
            "add up to ¥400.01, more than the ¥400.00 available",
        )
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=40_000,
                channel="cash",
                allocations=[AllocationRequest(a.pk, 100), AllocationRequest(a.pk, 100)],
            ),
            "allocation_duplicate",
            "appears twice",
        )


def test_payment_to_a_cancelled_or_draft_order_is_refused(school, student):
    cancelled = cancel_order(actor=school.cashier, order=make_order(school, student, 30_000), reason="x")
    draft = make_order(school, student, 30_000, issue=False)
    with nothing_written():
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=100,
                channel="cash",
                allocations=[AllocationRequest(cancelled.pk, 100)],
            ),
            "order_cancelled",
            "is cancelled and cannot be paid",
            error=Conflict,
        )
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=100,
                channel="cash",
                allocations=[AllocationRequest(draft.pk, 100)],
            ),
            "order_not_payable",
            "is not open for payment",
        )
        expect_error(
            lambda: apply_credit(actor=school.cashier, student=student, order=cancelled, amount=100),
            "order_cancelled",
        )


def test_another_familys_order_cannot_be_paid(school, student):
    stranger_parent = create_guardian(actor=school.principal, name="王爸爸", phone="13900000002")
    stranger = school.student(name="王小明", guardian=stranger_parent)
    theirs = make_order(school, stranger, 30_000)
    with nothing_written():
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=100,
                channel="cash",
                allocations=[AllocationRequest(theirs.pk, 100)],
            ),
            "order_not_found",
            error=NotFound,
        )


def test_unknown_channel_and_future_date_are_refused(school, student):
    with nothing_written():
        expect_error(
            lambda: record_payment(actor=school.cashier, student=student, amount=100, channel="bitcoin"),
            "channel_invalid",
            "Unknown payment channel",
            error=ValidationFailed,
        )
        expect_error(
            lambda: record_payment(
                actor=school.cashier,
                student=student,
                amount=100,
                channel="cash",
                received_at=timezone.now() + datetime.timedelta(hours=1),
            ),
            "received_in_future",
            "in the future",
        )


def test_one_family_payment_settles_siblings_orders(school, student):
    sibling = school.student(name="张小妹")
    own = make_order(school, student, 30_000)
    theirs = make_order(school, sibling, 20_000)
    payment = record_payment(
        actor=school.cashier,
        student=student,
        amount=60_000,
        channel="wechat_pay",
        allocations=[AllocationRequest(own.pk, 30_000), AllocationRequest(theirs.pk, 20_000)],
    )
    own.refresh_from_db()
    theirs.refresh_from_db()
    assert (own.status, theirs.status) == (OrderStatus.PAID, OrderStatus.PAID)
    assert student_account(student=sibling).balance_due == 0
    assert student_account(student=student).credit == 10_000
    assert payment in student_account(student=sibling).payments
    reverse_payment(actor=school.finance, payment=payment, reason="paid twice by mistake")
    theirs.refresh_from_db()
    assert (theirs.paid, student_account(student=sibling).balance_due) == (0, 20_000)
    assert_ledger_invariants(school.org.pk)
