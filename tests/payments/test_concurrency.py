"""Real parallel connections on PostgreSQL: no lost update, no over-allocation, no deadlock."""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.db.models import Sum
from moneycheck import assert_ledger_invariants

from feedesk.billing.models import Order, OrderLine, OrderStatus
from feedesk.billing.services import LineDraft, create_order
from feedesk.core.errors import DomainError
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import Account, AccountRole
from feedesk.payments.models import Payment
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 24


def run_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same instant, each on its own connection; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def outcomes(results: list[Any], allowed_codes: set[str]) -> tuple[list[Any], Counter]:
    """Split results into successes and refusals; anything else (a deadlock, an IntegrityError) fails."""
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)]
    assert not unexpected, unexpected
    refusals = Counter(r.code for r in results if isinstance(r, DomainError))
    assert set(refusals) <= allowed_codes, refusals
    return [r for r in results if not isinstance(r, BaseException)], refusals


def clearing_and_cash_debits(school) -> int:
    roles = [AccountRole.CLEARING, AccountRole.CASH]
    return Account.objects.filter(organization=school.org, role__in=roles).aggregate(s=Sum("debits"))["s"]


def credit_of(student) -> int:
    return Account.objects.get(student=student, role=AccountRole.STUDENT_CREDIT).balance


def test_parallel_explicit_allocations_never_over_allocate(school, postgres_only):
    student = school.student()
    _e, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    assert order.total == 588_000

    def pay():
        return record_payment(
            actor=school.cashier,
            student=student,
            amount=50_000,
            channel="wechat_pay",
            allocations=[AllocationRequest(order.pk, 40_000)],
        )

    paid, refusals = outcomes(
        run_parallel([pay] * THREADS), {"allocation_exceeds_balance", "order_not_payable"}
    )
    # An explicit allocation is the cashier's instruction: once the balance is smaller than it,
    # the payment is refused as a whole so they can decide again; 14 × 400 fits in 5,880.
    assert len(paid) == 14
    assert refusals == {"allocation_exceeds_balance": THREADS - 14}
    order.refresh_from_db()
    assert (order.paid, order.status) == (560_000, OrderStatus.PARTIALLY_PAID)
    assert Payment.objects.aggregate(s=Sum("amount"))["s"] == 14 * 50_000 == clearing_and_cash_debits(school)
    assert credit_of(student) == 14 * 10_000
    assert len({p.receipt_number for p in paid}) == 14
    assert_ledger_invariants(school.org.pk)


def test_parallel_auto_allocated_payments_send_the_excess_to_credit(school, postgres_only):
    student = school.student()
    _e, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    pay = lambda: record_payment(actor=school.cashier, student=student, amount=30_000, channel="cash")  # noqa: E731
    paid, refusals = outcomes(run_parallel([pay] * THREADS), set())
    assert len(paid) == THREADS and not refusals
    order.refresh_from_db()
    assert (order.paid, order.status) == (588_000, OrderStatus.PAID)
    total = THREADS * 30_000
    assert Payment.objects.aggregate(s=Sum("amount"))["s"] == total == clearing_and_cash_debits(school)
    assert credit_of(student) == total - 588_000
    assert sorted(int(p.receipt_number[1:]) for p in paid) == list(range(1, THREADS + 1))
    assert_ledger_invariants(school.org.pk)


def test_mixed_money_operations_on_one_student_do_not_deadlock(school, postgres_only):
    student = school.student()

    def order_of(amount):
        return create_order(
            actor=school.cashier,
            student=student,
            lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="杂费", unit_price=amount)],
        )

    big, other, reversible = order_of(500_000), order_of(500_000), order_of(40_000)
    record_payment(actor=school.cashier, student=student, amount=100_000, channel="alipay", allocations=[])
    to_reverse = [
        record_payment(
            actor=school.cashier,
            student=student,
            amount=10_000,
            channel="pos",
            allocations=[AllocationRequest(reversible.pk, 10_000)],
        )
        for _ in range(4)
    ]
    calls: list[Callable[[], Any]] = []
    for i in range(THREADS):
        if i % 4 == 0:
            calls.append(lambda: apply_credit(actor=school.cashier, student=student, order=big, amount=1_000))
        elif i % 4 == 1:
            calls.append(
                lambda: record_payment(
                    actor=school.cashier,
                    student=student,
                    amount=2_000,
                    channel="cash",
                    allocations=[AllocationRequest(other.pk, 1_000)],
                )
            )
        elif i % 4 == 2:
            calls.append(
                lambda: record_payment(actor=school.cashier, student=student, amount=1_000, channel="pos")
            )
        else:
            payment = to_reverse[(i // 4) % len(to_reverse)]
            calls.append(
                lambda p=payment: reverse_payment(actor=school.finance, payment=p, reason="duplicate")
            )
    done, refusals = outcomes(run_parallel(calls), {"payment_already_reversed"})
    assert refusals["payment_already_reversed"] == 2  # six reversals of four payments
    assert len(done) == THREADS - 2
    assert Payment.objects.filter(status=Payment.Status.REVERSED).count() == 4
    assert_ledger_invariants(school.org.pk)


def test_only_one_of_many_takes_the_last_seat(school, postgres_only):
    klass = school.make_class(school.package_course, capacity=2, name="小班")
    enrol_student(actor=school.cashier, student=school.student(name="已报名"), class_group=klass)
    students = [school.student(name=f"学员{i}") for i in range(THREADS)]
    calls = [lambda s=s: enrol_student(actor=school.cashier, student=s, class_group=klass) for s in students]
    done, refusals = outcomes(run_parallel(calls), {"class_full"})
    assert len(done) == 1
    assert refusals == {"class_full": THREADS - 1}
    assert Enrolment.objects.filter(class_group=klass, status=Enrolment.Status.ACTIVE).count() == 2
    assert Order.objects.filter(enrolment__class_group=klass).count() == 2
    assert_ledger_invariants(school.org.pk)


def test_parallel_reversals_of_one_payment_reverse_it_once(school, postgres_only):
    student = school.student()
    _e, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    payment = record_payment(actor=school.cashier, student=student, amount=600_000, channel="bank_transfer")
    reverse = lambda: reverse_payment(actor=school.finance, payment=payment, reason="bounced")  # noqa: E731
    done, refusals = outcomes(run_parallel([reverse] * THREADS), {"payment_already_reversed"})
    assert len(done) == 1
    assert refusals == {"payment_already_reversed": THREADS - 1}
    order.refresh_from_db()
    assert (order.paid, order.status) == (0, OrderStatus.OPEN)
    assert credit_of(student) == 0
    assert_ledger_invariants(school.org.pk)


def test_parallel_requests_with_one_idempotency_key_record_one_payment(school, postgres_only):
    student = school.student()
    _e, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)

    def pay():
        return record_payment(
            actor=school.cashier,
            student=student,
            amount=100_000,
            channel="wechat_pay",
            idempotency_key="wx-42",
        )

    done, _refusals = outcomes(run_parallel([pay] * THREADS), set())
    assert len({p.pk for p in done}) == 1
    assert Payment.objects.count() == 1
    order.refresh_from_db()
    assert order.paid == 100_000
    assert_ledger_invariants(school.org.pk)
