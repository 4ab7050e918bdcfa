"""Real parallel connections on PostgreSQL: a desk payment racing the portal's online payment,
and the same gateway notification delivered twice at once."""

import threading

import pytest
from django.db import connection

from feedesk.billing.models import Order, OrderStatus
from feedesk.gateways.models import GatewayKind, OnlinePayment
from feedesk.gateways.registry import gateway_for
from feedesk.gateways.services import handle_callback, save_gateway_config
from feedesk.gateways.simulated import mark_paid, new_transaction
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.models import Payment
from feedesk.payments.selectors import student_account
from feedesk.payments.services import record_payment
from feedesk.portal.models import Cart
from feedesk.portal.selectors import viewer_for
from feedesk.portal.services import add_to_cart, checkout, sync_cart, update_portal_settings
from tests.conftest import School
from tests.portal.conftest import Family

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*actions):
    """Start every action at the same moment, each on its own database connection."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait()
            results[i] = action()
        except Exception as problem:  # reported to the test below
            results[i] = problem
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def signed_notification(online: OnlinePayment):
    """What the simulated provider sends when the payer pays: signed and encrypted like WeChat Pay v3."""
    gateway = gateway_for(online.organization, GatewayKind.SIMULATED)
    store = gateway.platform.store
    txn = store.get(online.out_trade_no) or new_transaction(
        out_trade_no=online.out_trade_no, amount=online.amount, description=online.description
    )
    store.save(mark_paid(txn))
    return gateway.platform.notification(txn)


def checked_out_family():
    school = School(slug="race")
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=False)
    save_gateway_config(actor=school.principal, active="simulated")
    family = Family(school, "13900000051", ("郑小一", "郑小二"))
    viewer = viewer_for(family.user)
    for order in family.orders:
        add_to_cart(viewer=viewer, order_id=order.pk)
    result = checkout(viewer=viewer, client="phone", return_url="http://testserver/portal/cart/return/")
    online = OnlinePayment.objects.get(out_trade_no=result.out_trade_no)
    return school, family, viewer, online


def test_desk_and_online_pay_the_same_order_at_once(postgres_only):
    school, family, viewer, online = checked_out_family()
    headers, body = signed_notification(online)
    order = family.orders[0]
    desk, callback = run_together(
        lambda: record_payment(
            actor=school.cashier, student=order.student, amount=order.total, channel="cash"
        ),
        lambda: handle_callback(provider="wechat", org_slug=school.org.slug, headers=headers, body=body),
    )
    assert isinstance(desk, Payment), desk
    assert callback.accepted, callback
    for o in Order.objects.filter(pk__in=[o.pk for o in family.orders]):
        assert (o.paid, o.status) == (o.total, OrderStatus.PAID)  # never over-allocated
    paid_twice = order.total  # one of the two payments found the order already paid
    credit = student_account(student=order.student).credit
    assert credit == paid_twice
    report = verify_ledger()
    assert report.ok, report.problems
    assert sync_cart(viewer=viewer).status == Cart.Status.PAID


def test_the_same_notification_twice_at_once_posts_once(postgres_only):
    school, family, viewer, online = checked_out_family()
    headers, body = signed_notification(online)
    first, second = run_together(
        lambda: handle_callback(provider="wechat", org_slug=school.org.slug, headers=headers, body=body),
        lambda: handle_callback(provider="wechat", org_slug=school.org.slug, headers=headers, body=body),
    )
    assert first.accepted and second.accepted, (first, second)
    assert Payment.objects.filter(channel="online").count() == 1
    online.refresh_from_db()
    assert online.payment is not None and online.payment.amount == sum(o.total for o in family.orders)
    cart = sync_cart(viewer=viewer)
    assert cart.status == Cart.Status.PAID and cart.payment_id == online.payment_id
    assert verify_ledger().ok
