"""The main portal pages at phone width, in both languages: nothing wider than the phone.

With FEEDESK_SCREENSHOT_DIR set (scripts/portal_screenshots.py sets docs/screenshots) the
screenshots are kept for the README.
"""

import os
from pathlib import Path

import pytest

from feedesk.attendance.services import install_default_reasons
from feedesk.gateways.services import save_gateway_config
from feedesk.payments.services import record_payment
from feedesk.portal.selectors import viewer_for
from feedesk.portal.services import add_to_cart, update_portal_settings
from tests.conftest import School
from tests.portal.conftest import PASSWORD, Family
from tests.portal.e2e.conftest import PHONE, sign_in
from tests.portal.test_absences import future_session, staff_marks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("home", "/portal/"),
    ("courses", "/portal/courses/"),
    ("pay", "/portal/pay/"),
    ("cart", "/portal/cart/"),
    ("receipts", "/portal/receipts/"),
]


def test_phone_width_pages_in_both_languages(page, live_server, tmp_path):
    out = Path(os.environ.get("FEEDESK_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    school = School()
    install_default_reasons(actor=school.principal)
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=True)
    save_gateway_config(actor=school.principal, active="simulated")
    family = Family(school, "13900000041", ("张小明", "张小红"))
    child = family.children[0]
    sessions = [future_session(school, school.lesson_class, days=d) for d in (2, 4, 9)]
    staff_marks(school, sessions[2], child, "sick")
    from feedesk.attendance.services import report_absence

    report_absence(reporter=family.guardian, session=sessions[1], student=child, reason_code="personal")
    paid = record_payment(
        actor=school.cashier, student=family.children[1], amount=50_000, channel="wechat_pay"
    )
    add_to_cart(viewer=viewer_for(family.user), order_id=family.orders[0].pk)

    page.goto(f"{live_server.url}/portal/login/")
    shots = []
    for language in ("en", "zh-hans"):
        if language == "en":
            page.screenshot(path=out / "portal-login-en.png", full_page=True)
            sign_in(page, live_server, family.phone, PASSWORD)
        else:
            page.goto(f"{live_server.url}/portal/")
            page.locator("form.lang button").click()
            page.wait_for_load_state()
        for name, path in [*PAGES, ("receipt", f"/portal/receipts/{paid.pk}/")]:
            page.goto(f"{live_server.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} ({language}) is {width}px wide"
            target = out / f"portal-{name}-{language}.png"
            page.screenshot(path=target, full_page=True)
            shots.append(target)
    assert "近期课程" in page.content()
    assert all(p.stat().st_size > 5_000 for p in shots)
