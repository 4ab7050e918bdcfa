import pytest

from feedesk.portal.services import update_portal_settings
from tests.conftest import School
from tests.portal.conftest import PASSWORD, Family
from tests.portal.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_with_the_setting_off_no_pay_buttons_appear(page, live_server):
    school = School()
    family = Family(school, "13900000011", ("周小舟", "周小雨"))
    update_portal_settings(actor=school.principal, carts_enabled=False, allow_partial=False)
    sign_in(page, live_server, family.phone, PASSWORD)
    assert page.locator("h2", has_text="周小舟").is_visible()
    for path in ("/portal/", "/portal/courses/", "/portal/receipts/"):
        page.goto(f"{live_server.url}{path}")
        body = page.content()
        assert "Add Order" not in body and "Pay an Order Balance" not in body and "Add to Cart" not in body
    response = page.goto(f"{live_server.url}/portal/pay/")
    assert response is not None and response.status == 404
    # Switched on, the same pages offer them.
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=False)
    page.goto(f"{live_server.url}/portal/courses/")
    assert page.get_by_role("button", name=f"Add Order #{family.orders[0].number} to Cart").is_visible()
