import datetime

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from feedesk.billing.models import Order
from feedesk.billing.services import cancel_order, update_order_flags
from feedesk.payments.services import record_payment
from feedesk.people.services import create_guardian
from feedesk.portal.models import AccessCode, Cart, CartItem
from feedesk.portal.selectors import viewer_for, viewer_settings
from feedesk.portal.services import (
    add_to_cart,
    checkout,
    invite_guardian,
    request_reset_code,
    set_password_with_code,
    sync_cart,
    update_portal_settings,
)
from tests.conftest import School
from tests.portal import codes
from tests.portal.conftest import PASSWORD, Family

SENDER = "tests.portal.codes.capture"


def html(response) -> str:
    return response.content.decode()


# -- signing in ----------------------------------------------------------------------------------
def test_login_with_phone_and_password(family):
    client = family.client()
    page = html(client.get("/portal/"))
    assert "王小明" in page and "王小红" in page


def test_wrong_password_is_refused(family):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/portal/login/", {"phone": family.phone, "password": "nope-nope"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session


def test_an_older_pbkdf2_password_signs_in_and_is_rehashed_with_argon2id(family, settings):
    from django.contrib.auth.hashers import make_password

    from config import settings as project

    # The project's hashers, not the fast MD5 the other tests use.
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS
    family.user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    family.user.save(update_fields=["password"])
    family.client()  # signs in with the old hash
    family.user.refresh_from_db()
    assert family.user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    family.client()  # and again with the new one
    refused = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/portal/login/", {"phone": family.phone, "password": PASSWORD + "x"}
    )
    assert "_auth_user_id" not in refused.client.session


def test_pages_need_a_portal_login(family, school):
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get("/portal/courses/").status_code == 302
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(school.cashier)
    response = staff.get("/portal/")
    assert response.status_code == 302 and "/portal/login/" in response["Location"]


def test_same_phone_at_two_schools_picks_the_school(family, other_school):
    update_portal_settings(actor=other_school.principal, carts_enabled=True, allow_partial=False)
    there = Family(other_school, family.phone, ("赵小虎",))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/portal/login/", {"phone": family.phone, "password": PASSWORD})
    assert response.status_code == 200 and other_school.org.name in html(response)
    # Only the accounts whose password was checked can be picked.
    assert client.post("/portal/login/school/", {"user": family.school.principal.pk}).status_code == 302
    assert "_auth_user_id" not in client.session
    client.post("/portal/login/", {"phone": family.phone, "password": PASSWORD})
    client.post("/portal/login/school/", {"user": there.user.pk})
    page = html(client.get("/portal/"))
    assert "赵小虎" in page and "王小明" not in page


@override_settings(FEEDESK_CODE_SENDER=SENDER)
def test_reset_password_by_code(family):
    codes.SENT.clear()
    Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/code/", {"phone": family.phone})
    assert len(codes.SENT) == 1 and codes.SENT[0]["purpose"] == "reset"
    code = codes.SENT[0]["code"]
    stored = AccessCode.objects.get(user=family.user, used_at__isnull=True)
    assert code not in stored.code_hash  # only a hash is kept
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/portal/code/set/",
        {"phone": family.phone, "code": code, "password": "brand-new-2026", "password2": "brand-new-2026"},
    )
    assert response.status_code == 302
    assert (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .post("/portal/login/", {"phone": family.phone, "password": "brand-new-2026"})
        .status_code
        == 302
    )
    # A used code does not work twice.
    with pytest.raises(Exception, match="wrong or has expired"):
        set_password_with_code(phone=family.phone, code=code, new_password="another-pass-2026")


@override_settings(FEEDESK_CODE_SENDER=SENDER)
def test_reset_code_attempts_are_limited(family):
    codes.SENT.clear()
    request_reset_code(phone=family.phone)
    good = codes.SENT[0]["code"]
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(AccessCode.MAX_ATTEMPTS):
        with pytest.raises(Exception, match="wrong or has expired"):
            set_password_with_code(phone=family.phone, code=wrong, new_password="brand-new-2026")
    with pytest.raises(Exception, match="wrong or has expired"):
        set_password_with_code(phone=family.phone, code=good, new_password="brand-new-2026")


@override_settings(FEEDESK_CODE_SENDER=SENDER)
def test_reset_code_expires(family):
    codes.SENT.clear()
    request_reset_code(phone=family.phone)
    AccessCode.objects.filter(user=family.user).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with pytest.raises(Exception, match="wrong or has expired"):
        set_password_with_code(phone=family.phone, code=codes.SENT[0]["code"], new_password="brand-new-2026")


@override_settings(FEEDESK_CODE_SENDER="", FEEDESK_SHOW_CODES_ON_SCREEN=False)
def test_without_a_sender_codes_are_never_shown(family):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/code/", {"phone": family.phone})
    assert "data-demo-code" not in html(response)
    assert not AccessCode.objects.filter(user=family.user, purpose="reset").exists()


@override_settings(FEEDESK_CODE_SENDER="", FEEDESK_SHOW_CODES_ON_SCREEN=True)
def test_demo_shows_the_code_clearly_marked(family):
    page = html(Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/code/", {"phone": family.phone}))
    assert "data-demo-code" in page and "DEMO ONLY" in page


def test_unknown_phone_gets_the_same_answer(family):
    with override_settings(FEEDESK_CODE_SENDER=SENDER):
        page = html(Client(HTTP_ACCEPT_LANGUAGE="en").post("/portal/code/", {"phone": "13012345678"}))
    assert "If this number has a portal account" in page


def test_invitation_needs_a_staff_role(school):
    guardian = create_guardian(actor=school.principal, name="陈爸爸", phone="13700000009")
    with pytest.raises(Exception, match="role does not allow"):
        invite_guardian(actor=school.instructor, guardian=guardian)


# -- children ------------------------------------------------------------------------------------
def test_switching_children(family):
    client = family.client()
    first, second = family.children
    client.post("/portal/child/", {"student": second.pk})
    assert f"{second.name}" in html(client.get("/portal/courses/")).split("<h1>")[1].split("</h1>")[0]
    client.post("/portal/child/", {"student": first.pk})
    assert f"{first.name}" in html(client.get("/portal/courses/")).split("<h1>")[1].split("</h1>")[0]


def test_student_login_sees_only_themselves(family, school):
    from feedesk.portal.services import invite_student

    child = family.children[0]
    child.phone = "13600000001"
    child.save(update_fields=["phone"])
    invitation = invite_student(actor=school.cashier, student=child)
    set_password_with_code(phone=child.phone, code=invitation.code, new_password="student-pass-2026")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert (
        client.post("/portal/login/", {"phone": child.phone, "password": "student-pass-2026"}).status_code
        == 302
    )
    page = html(client.get("/portal/"))
    assert child.name in page and family.children[1].name not in page
    assert client.post("/portal/child/", {"student": family.children[1].pk}).status_code == 404
    assert client.post("/portal/cart/add/", {"order": family.orders[1].pk}).status_code == 404
    assert client.post("/portal/cart/add/", {"order": family.orders[0].pk}).status_code == 302


# -- isolation: another family's ids are 404 and change nothing ----------------------------------
def test_another_familys_ids_are_not_found(family, stranger, school):
    client = family.client()
    their_order = stranger.orders[0]
    their_payment = record_payment(
        actor=school.cashier, student=stranger.children[0], amount=1000, channel="cash"
    )
    before = (Order.objects.get(pk=their_order.pk).paid, CartItem.objects.count())
    assert client.post("/portal/child/", {"student": stranger.children[0].pk}).status_code == 404
    assert client.post("/portal/cart/add/", {"order": their_order.pk}).status_code == 404
    assert client.post("/portal/cart/remove/", {"order": their_order.pk}).status_code == 404
    assert client.get(f"/portal/receipts/{their_payment.pk}/").status_code == 404
    assert client.get(f"/portal/receipts/{their_payment.pk}/download/").status_code == 404
    assert client.post("/portal/cart/add/", {"order": "1 OR 1=1"}).status_code == 404
    assert their_payment.receipt_number not in html(client.get("/portal/receipts/"))
    assert f"#{their_order.number}" not in html(client.get("/portal/pay/"))
    assert (Order.objects.get(pk=their_order.pk).paid, CartItem.objects.count()) == before


def test_stranger_cannot_remove_from_my_cart(family, stranger):
    mine = family.client()
    mine.post("/portal/cart/add/", {"order": family.orders[0].pk})
    theirs = stranger.client()
    assert theirs.post("/portal/cart/remove/", {"order": family.orders[0].pk}).status_code == 404
    assert CartItem.objects.filter(order=family.orders[0]).count() == 1


def test_non_payable_orders_cannot_be_added(family, school):
    order = family.orders[0]
    update_order_flags(actor=school.cashier, order=order, online_payable=False)
    client = family.client()
    assert client.post("/portal/cart/add/", {"order": order.pk}).status_code == 404
    assert f"#{order.number}" not in html(client.get("/portal/pay/"))
    Order.objects.filter(pk=order.pk).update(online_payable=True, on_account=False)
    assert client.post("/portal/cart/add/", {"order": order.pk}).status_code == 404


def test_other_schools_guardian_sees_nothing_here(family, other_school):
    there = Family(other_school, "13900000077", ("钱多多",))
    update_portal_settings(actor=other_school.principal, carts_enabled=True, allow_partial=False)
    client = there.client()
    assert client.post("/portal/cart/add/", {"order": family.orders[0].pk}).status_code == 404
    assert client.post("/portal/child/", {"student": family.children[0].pk}).status_code == 404


# -- cart ----------------------------------------------------------------------------------------
def test_add_shows_in_cart_and_remove(family):
    client = family.client()
    order = family.orders[0]
    client.post("/portal/child/", {"student": family.children[0].pk})
    page = html(client.get("/portal/courses/"))
    assert f"Add Order #{order.number} to Cart" in page
    client.post("/portal/cart/add/", {"order": order.pk})
    page = html(client.get("/portal/courses/"))
    assert "In Cart" in page and f"Add Order #{order.number} to Cart" not in page
    assert "In Cart" in html(client.get("/portal/pay/"))
    cart_page = html(client.get("/portal/cart/"))
    assert "¥1,500.00" in cart_page
    client.post("/portal/cart/remove/", {"order": order.pk})
    assert f"Add Order #{order.number} to Cart" in html(client.get("/portal/courses/"))


def test_partial_amounts_only_when_allowed(family, school):
    client = family.client()
    order = family.orders[0]
    client.post("/portal/cart/add/", {"order": order.pk, "amount": "500"})
    assert not CartItem.objects.filter(order=order).exists()
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=True)
    client.post("/portal/cart/add/", {"order": order.pk, "amount": "500"})
    assert CartItem.objects.get(order=order).amount == 50_000
    client.post("/portal/cart/add/", {"order": order.pk, "amount": "99999"})  # more than owed: refused
    assert CartItem.objects.get(order=order).amount == 50_000
    assert "¥500.00" in html(client.get("/portal/cart/"))


def test_adding_an_order_again_changes_its_item(family, school):
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=True)
    client = family.client()
    order = family.orders[0]
    client.post("/portal/cart/add/", {"order": order.pk})
    item = CartItem.objects.get(order=order)
    assert item.amount is None
    client.post("/portal/cart/add/", {"order": order.pk, "amount": "500"})
    assert CartItem.objects.get(order=order).amount == 50_000
    client.post("/portal/cart/add/", {"order": order.pk})
    again = CartItem.objects.get(order=order)
    assert (again.pk, again.amount, again.added_at) == (item.pk, None, item.added_at)
    assert Cart.objects.filter(owner=family.user).count() == 1


def test_order_ids_that_are_not_numbers_are_not_found(family):
    client = family.client()
    for value in ("99999999999999999999", "-1", "１", ""):
        assert client.post("/portal/cart/add/", {"order": value}).status_code == 404
        assert client.post("/portal/cart/remove/", {"order": value}).status_code == 404
        reported = client.post(
            "/portal/absence/", {"student": family.children[0].pk, "session": value, "reason": "sick"}
        )
        assert reported.status_code == 404
    assert not CartItem.objects.exists()


def test_checking_out_without_a_cart_says_it_is_empty(family):
    response = family.client().post("/portal/cart/checkout/", {"total": "0"}, follow=True)
    assert "Your cart is empty." in html(response)
    assert not Cart.objects.filter(owner=family.user).exists()


def test_setting_off_hides_buttons_and_refuses(family, school):
    client = family.client()
    client.post("/portal/cart/add/", {"order": family.orders[0].pk})
    update_portal_settings(actor=school.principal, carts_enabled=False, allow_partial=False)
    for url in ("/portal/", "/portal/courses/", "/portal/receipts/"):
        page = html(client.get(url))
        assert "Add Order" not in page and "Pay an Order Balance" not in page and "/portal/cart/" not in page
    assert client.get("/portal/pay/").status_code == 404
    assert client.get("/portal/cart/").status_code == 404
    assert client.post("/portal/cart/add/", {"order": family.orders[1].pk}).status_code == 302
    assert not CartItem.objects.filter(order=family.orders[1]).exists()
    response = client.post("/portal/cart/checkout/", follow=True)
    assert "does not take payments" in html(response)
    assert Cart.objects.get(owner=family.user).status == Cart.Status.OPEN


def test_reprice_tells_why_before_paying(family, school):
    viewer = viewer_for(family.user)
    paid_at_desk, cancelled, changed = family.orders[0], family.orders[1], None
    for order in family.orders:
        add_to_cart(viewer=viewer, order_id=order.pk)
    record_payment(
        actor=school.cashier, student=paid_at_desk.student, amount=paid_at_desk.total, channel="cash"
    )
    cancel_order(actor=school.cashier, order=cancelled, reason="wrong class")
    result = checkout(viewer=viewer, client="phone", return_url="http://testserver/portal/cart/return/")
    assert result.action is None and len(result.notices) == 2
    assert all("taken out of your cart" in n for n in result.notices)
    assert not CartItem.objects.filter(cart=result.cart).exists()
    assert changed is None


def test_partially_paid_at_desk_is_repriced(family, school):
    viewer = viewer_for(family.user)
    order = family.orders[0]
    client = family.client()
    client.post("/portal/cart/add/", {"order": order.pk})
    client.get("/portal/cart/")
    record_payment(actor=school.cashier, student=order.student, amount=40_000, channel="cash")
    response = client.post("/portal/cart/checkout/", {"total": str(order.total)}, follow=True)
    page = html(response)
    assert "¥1,100.00" in page and "Please check your cart" in page
    assert Cart.objects.get(owner=family.user).status == Cart.Status.OPEN
    assert viewer is not None


def test_frozen_cart_refuses_changes(family):
    viewer = viewer_for(family.user)
    add_to_cart(viewer=viewer, order_id=family.orders[0].pk)
    Cart.objects.filter(owner=family.user).update(status=Cart.Status.FROZEN, out_trade_no="FDTEST")
    client = family.client()
    response = client.post("/portal/cart/add/", {"order": family.orders[1].pk}, follow=True)
    assert "waiting for a payment" in html(response)
    client.post("/portal/cart/remove/", {"order": family.orders[0].pk})
    assert CartItem.objects.filter(cart__owner=family.user).count() == 1


# -- receipts ------------------------------------------------------------------------------------
def test_receipts_list_and_download(family, school):
    payment = record_payment(
        actor=school.cashier, student=family.children[1], amount=family.orders[1].total, channel="cash"
    )
    client = family.client()
    assert payment.receipt_number in html(client.get("/portal/receipts/"))
    assert payment.receipt_number in html(client.get(f"/portal/receipts/{payment.pk}/"))
    download = client.get(f"/portal/receipts/{payment.pk}/download/")
    assert download.status_code == 200
    assert (
        "attachment" in download["Content-Disposition"]
        and payment.receipt_number in download["Content-Disposition"]
    )
    assert "¥1,500.00" in html(download)


def test_a_receipt_shows_each_allocation_and_reaches_the_family_only(
    family, stranger, school, django_assert_max_num_queries
):
    first, second = family.orders
    payment = family.pay_at_desk(family.children[1], [second, first], extra=1000)
    client = family.client()
    with django_assert_max_num_queries(4):
        page = html(client.get(f"/portal/receipts/{payment.pk}/"))
    rows = page.split("Paid towards")[1]
    assert rows.index(f"#{second.number}") < rows.index(f"#{first.number}")
    assert family.children[0].name in rows and family.children[1].name in rows and "¥10.00" in rows
    assert stranger.client().get(f"/portal/receipts/{payment.pk}/").status_code == 404
    # The payer is no longer active: the receipt still reaches the family through its orders.
    type(family.children[1]).objects.filter(pk=family.children[1].pk).update(is_active=False)
    assert payment.receipt_number in html(client.get(f"/portal/receipts/{payment.pk}/"))
    for wrong in ("0", "99999999999999999999", "x"):
        assert client.get(f"/portal/receipts/{wrong}/").status_code == 404


def test_language_switch(family):
    client = family.client()
    client.post("/portal/language/", {"language": "zh-hans", "next": "/portal/"})
    assert "即将" in html(client.get("/portal/")) or "课程" in html(client.get("/portal/"))
    client.post("/portal/language/", {"language": "en", "next": "/portal/"})
    assert "Upcoming Courses" in html(client.get("/portal/"))


def test_csrf_is_enforced(family):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(family.user)
    assert client.post("/portal/cart/add/", {"order": family.orders[0].pk}).status_code == 403


def test_school_fixture_unused_guard():
    assert School is not None


def test_sign_out_is_a_post(family):
    client = family.client()
    assert client.get("/portal/logout/").status_code == 405
    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302


def test_return_page_without_a_payment_says_so(family):
    client = family.client()
    response = client.get("/portal/cart/return/", follow=True)
    assert "did not go through" in html(response)


def test_page_views_read_a_handful_of_rows(family, django_assert_max_num_queries):
    """Each page reads the session and the user with the family once; the cart is not read twice."""
    client = family.client()
    with django_assert_max_num_queries(6):
        client.get("/portal/courses/")
    with django_assert_max_num_queries(4):
        client.get("/portal/pay/")
    with django_assert_max_num_queries(8):
        client.post("/portal/cart/add/", {"order": family.orders[0].pk})
    with django_assert_max_num_queries(4):
        client.get("/portal/cart/")


def test_the_family_comes_with_the_signed_in_user(family, stranger, school, django_assert_num_queries):
    from feedesk.gateways.auth import HumanAccountsBackend
    from feedesk.people.models import Student

    backend = HumanAccountsBackend()
    Student.objects.filter(pk=family.children[1].pk).update(is_active=False)
    with django_assert_num_queries(1):
        user = backend.get_user(family.user.pk)
        viewer = viewer_for(user)
    fresh = viewer_for(type(user).objects.get(pk=family.user.pk))
    assert viewer is not None and fresh is not None
    assert viewer.student_ids == fresh.student_ids == [family.children[0].pk]
    assert (viewer.guardian, viewer.organization) == (family.guardian, school.org)
    assert viewer_settings(viewer).carts_enabled
    assert viewer_for(backend.get_user(stranger.user.pk)).student_ids == [stranger.children[0].pk]
    staff = backend.get_user(school.cashier.pk)
    assert staff == school.cashier and viewer_for(staff) is None


def test_a_checkout_the_provider_never_saw_reopens_the_cart(family, school, monkeypatch):
    from feedesk.gateways.models import OnlinePayment, OnlineStatus
    from feedesk.gateways.registry import SimulatedGateway
    from feedesk.gateways.services import save_gateway_config

    save_gateway_config(actor=school.principal, active="simulated")
    viewer = viewer_for(family.user)
    add_to_cart(viewer=viewer, order_id=family.orders[0].pk)

    def crash(*args, **kwargs):
        raise SystemExit("the worker died before asking the provider")

    monkeypatch.setattr(SimulatedGateway, "create", crash)
    with pytest.raises(SystemExit):
        checkout(viewer=viewer, client="phone", return_url="http://testserver/portal/cart/return/")
    monkeypatch.undo()
    cart = Cart.objects.get(owner=family.user)
    assert cart.status == Cart.Status.FROZEN and cart.out_trade_no
    online = OnlinePayment.objects.get(out_trade_no=cart.out_trade_no)
    assert online.status == OnlineStatus.CREATED
    assert sync_cart(viewer=viewer).status == Cart.Status.FROZEN  # not yet: it may still be on its way
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=3))
    assert sync_cart(viewer=viewer).status == Cart.Status.OPEN


def test_a_frozen_cart_links_to_its_payment(family, school):
    from feedesk.gateways.services import save_gateway_config

    save_gateway_config(actor=school.principal, active="simulated")
    client = family.client()
    order = family.orders[0]
    client.post("/portal/cart/add/", {"order": order.pk})
    open_cart = html(client.get("/portal/cart/"))
    assert "Check the payment" not in open_cart and '<a href="/portal/pay/" class="">' in open_cart
    client.post("/portal/cart/checkout/", {"total": str(order.total)})
    frozen = html(client.get("/portal/cart/"))
    assert '<a class="btn" href="/portal/cart/return/">Check the payment</a>' in frozen


def test_the_return_page_follows_the_payment(family, stranger, school, django_assert_max_num_queries):
    from feedesk.gateways.models import OnlinePayment, OnlineStatus
    from feedesk.gateways.services import save_gateway_config
    from feedesk.payments.models import Payment

    save_gateway_config(actor=school.principal, active="simulated")
    client = family.client()
    for order in family.orders:
        client.post("/portal/cart/add/", {"order": order.pk})
    total = sum(order.total for order in family.orders)
    # Session with its user and family; the cart locked with its items, its orders locked, their
    # checkout amounts, the gateway configuration, the online payment, its audit row, the
    # frozen cart (with BEGIN and COMMIT); the provider's transaction; the payment made pending,
    # then its event and audit row (one statement on PostgreSQL) (with BEGIN and COMMIT).
    with django_assert_max_num_queries(15 if connection.vendor == "postgresql" else 16):
        pay_url = client.post("/portal/cart/checkout/", {"total": str(total)})["Location"]
    assert Cart.objects.get(owner=family.user).status == Cart.Status.FROZEN
    with django_assert_max_num_queries(2):  # session with its user, the payment with its school and keys
        client.get(pay_url)
    client.post(pay_url, {"action": "pay"})
    payment = Payment.objects.get()
    # Session with its user and family, the frozen cart with its payment, closing the cart.
    with django_assert_max_num_queries(3):
        client.get("/portal/cart/return/")
    for _again in range(2):  # paying closed the cart; coming back again still finds the receipt
        assert client.get("/portal/cart/return/")["Location"] == f"/portal/receipts/{payment.pk}/"
        cart = Cart.objects.get(owner=family.user)
        assert (cart.status, cart.payment_id) == (Cart.Status.PAID, payment.pk)
    # A payment the provider reports failed reopens the cart, with nothing charged.
    theirs = stranger.client()
    theirs.post("/portal/cart/add/", {"order": stranger.orders[0].pk})
    theirs.post("/portal/cart/checkout/", {"total": str(stranger.orders[0].total)})
    OnlinePayment.objects.filter(student=stranger.children[0]).update(status=OnlineStatus.FAILED)
    response = theirs.get("/portal/cart/return/", follow=True)
    assert "did not go through" in html(response)
    assert Cart.objects.get(owner=stranger.user).status == Cart.Status.OPEN
    assert Payment.objects.count() == 1
