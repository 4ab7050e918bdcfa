"""Real threads on PostgreSQL: duplicate notifications, and the desk and the gateway paying one order."""

import threading

import pytest
from django.db import connection

from feedesk.gateways.models import ClientKind, OnlinePaymentEvent, OnlineStatus
from feedesk.gateways.services import handle_callback, start_online_payment
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.models import Allocation, Payment
from feedesk.payments.selectors import student_account
from feedesk.payments.services import AllocationRequest, record_payment
from tests.gateways.conftest import configure, notification, online_order

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*jobs):
    """Start every job at the same instant, each in its own thread with its own connection."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_same_notification_ten_times_at_once_posts_once(postgres_only, school, keys, wechat_server):
    configure(school, keys)
    student = school.student()
    order = online_order(school, student, 450_00)
    online, _action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, 450_00)], client=ClientKind.DESKTOP
    )
    headers, body = notification(wechat_server.platform, online)

    def deliver():
        return handle_callback(provider="wechat", org_slug=school.org.slug, headers=headers, body=body)

    results = run_together(*[deliver] * 10)
    assert all(not isinstance(r, Exception) and r.accepted for r in results), results
    assert Payment.objects.filter(student=student).count() == 1
    outcomes = sorted(
        OnlinePaymentEvent.objects.filter(online_payment=online, source="callback").values_list(
            "outcome", flat=True
        )
    )
    assert outcomes == ["applied"] + ["duplicate"] * 9
    order.refresh_from_db()
    online.refresh_from_db()
    assert order.paid == 450_00 and online.status == OnlineStatus.SUCCEEDED
    assert verify_ledger().ok


def test_desk_and_gateway_paying_the_same_order_never_over_allocate(
    postgres_only, school, keys, wechat_server
):
    configure(school, keys)
    for round_ in range(3):
        student = school.student(name=f"学生{round_}")
        order = online_order(school, student, 300_00)
        online, _action = start_online_payment(
            student=student, allocations=[AllocationRequest(order.pk, 300_00)], client=ClientKind.DESKTOP
        )
        headers, body = notification(wechat_server.platform, online)
        results = run_together(
            lambda student=student: record_payment(
                actor=school.cashier, student=student, amount=300_00, channel="cash"
            ),
            lambda headers=headers, body=body: handle_callback(
                provider="wechat", org_slug=school.org.slug, headers=headers, body=body
            ),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        order.refresh_from_db()
        assert order.paid == order.total == 300_00
        assert sum(Allocation.objects.filter(order=order).values_list("amount", flat=True)) == 300_00
        account = student_account(student=student)
        assert (account.balance_due, account.credit) == (0, 300_00)  # whichever came second is credit
        assert Payment.objects.filter(student=student).count() == 2
    assert verify_ledger().ok
