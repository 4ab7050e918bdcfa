"""Scenario 1: a guardian pays two children's orders in one checkout through the simulated gateway."""

import pytest

from feedesk.billing.models import Order, OrderStatus
from feedesk.gateways.services import save_gateway_config
from feedesk.payments.models import Allocation, Payment
from feedesk.portal.services import update_portal_settings
from tests.conftest import School
from tests.portal.conftest import PASSWORD, Family
from tests.portal.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_guardian_pays_two_childrens_orders_in_one_checkout(page, live_server):
    school = School()
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=False)
    save_gateway_config(actor=school.principal, active="simulated")
    family = Family(school, "13900000021", ("孙悟空", "孙小圣"))
    sign_in(page, live_server, family.phone, PASSWORD)

    for child, order in zip(family.children, family.orders, strict=True):
        page.goto(f"{live_server.url}/portal/courses/")
        if page.input_value("#child-select") != str(child.pk):
            with page.expect_navigation():
                page.select_option("#child-select", str(child.pk))
        assert page.locator("h1", has_text=child.name).is_visible()
        with page.expect_navigation():
            page.get_by_role("button", name=f"Add Order #{order.number} to Cart").click()
        assert page.locator(".order-row", has_text=f"#{order.number}").get_by_text("In Cart").is_visible()

    page.locator('nav.tabs a[href="/portal/cart/"]').click()
    assert page.locator("[data-total]").inner_text() == "¥3,000.00"
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url("**/gateways/sim/pay/**")
    page.locator("button[value=pay]").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Back").click()
    page.wait_for_url("**/portal/receipts/**")
    receipt = page.locator(".receipt").inner_text()
    for order in family.orders:
        assert f"#{order.number}" in receipt
    assert "¥3,000.00" in receipt

    # The school's side: both orders paid, from one online payment.
    payment = Payment.objects.get(channel="online")
    assert payment.amount == 300_000
    assert set(Allocation.objects.filter(payment=payment).values_list("order_id", flat=True)) == {
        o.pk for o in family.orders
    }
    assert all(
        o.status == OrderStatus.PAID for o in Order.objects.filter(pk__in=[o.pk for o in family.orders])
    )

    # The desk shows the same: staff open the receipt, one payment allocated to both orders.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", school.cashier.username)
    page.fill("input[name=password]", "pw-123456")
    with page.expect_navigation():
        page.locator("button.primary").click()
    page.goto(f"{live_server.url}/payments/{payment.pk}/receipt/")
    staff_receipt = page.content()
    assert payment.receipt_number in staff_receipt
    for order in family.orders:
        assert f"#{order.number}" in staff_receipt
        page.goto(f"{live_server.url}/orders/{order.pk}/")
        assert payment.receipt_number in page.content()
