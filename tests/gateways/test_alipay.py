"""Alipay async notifications (RSA2) and page/WAP pay, with locally generated keys."""

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.urls import reverse

from feedesk.gateways.base import Refused, yuan_to_fen
from feedesk.gateways.models import ClientKind, GatewayKind, OnlineStatus
from feedesk.gateways.services import start_online_payment
from feedesk.payments.models import Payment
from feedesk.payments.services import AllocationRequest
from tests.gateways.conftest import ALIPAY_APP_ID, configure, online_order

pytestmark = pytest.mark.django_db


def alipay_sign(private_pem: str, params: dict[str, str]) -> str:
    """What Alipay does: sort every parameter except sign and sign_type, join k=v with &, SHA256withRSA."""
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


@pytest.fixture
def alipay_checkout(school, keys):
    configure(school, keys, active=GatewayKind.ALIPAY)
    student = school.student()
    order = online_order(school, student, 1234_56)
    online, action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, 1234_56)], client=ClientKind.DESKTOP
    )
    return school, online, action, order


def notify(client, school, keys, online, signer=None, **changes):
    params = {
        "notify_time": "2026-11-21 10:00:00",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "charset": "utf-8",
        "version": "1.0",
        "app_id": ALIPAY_APP_ID,
        "trade_no": "2026112122001404000000000001",
        "out_trade_no": online.out_trade_no,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "1234.56",
        "subject": "学费 tuition",
        "gmt_payment": "2026-11-21 09:59:58",
    }
    params.update(changes)
    params["sign_type"] = "RSA2"
    params["sign"] = alipay_sign(signer or keys.alipay_private, params)
    return client.post(
        reverse("gateways:alipay_notify", args=[school.org.slug]),
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
    )


def test_page_pay_on_desktop_and_wap_on_phone(alipay_checkout):
    school, online, action, _order = alipay_checkout
    assert action.kind == "redirect"
    query = parse_qs(urlsplit(action.url).query)
    assert query["method"] == ["alipay.trade.page.pay"] and query["sign_type"] == ["RSA2"]
    assert '"total_amount":"1234.56"' in query["biz_content"][0]
    assert online.status == OnlineStatus.PENDING
    student = online.student
    other = online_order(school, student, 5_00)
    _online, phone = start_online_payment(
        student=student, allocations=[AllocationRequest(other.pk, 5_00)], client=ClientKind.PHONE
    )
    assert parse_qs(urlsplit(phone.url).query)["method"] == ["alipay.trade.wap.pay"]


def test_verified_notify_posts_and_answers_success(client, alipay_checkout, keys):
    school, online, _action, _order = alipay_checkout
    response = notify(client, school, keys, online)
    assert response.status_code == 200 and response.content == b"success"
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED
    assert online.payment.amount == 1234_56 and online.payment.channel == "online"
    assert online.provider_transaction_id == "2026112122001404000000000001"
    assert notify(client, school, keys, online, trade_status="TRADE_FINISHED").content == b"success"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"total_amount": "1234.55"},
        {"total_amount": "1234.561"},
        {"total_amount": "1,234.56"},
        {"app_id": "2021000000000999"},
        {"out_trade_no": "FD-UNKNOWN"},
    ],
)
def test_mismatches_are_refused(client, alipay_checkout, keys, changes):
    school, online, _action, _order = alipay_checkout
    response = notify(client, school, keys, online, **changes)
    assert response.content == b"fail"
    assert not Payment.objects.exists()


def test_forged_signature_is_refused(client, alipay_checkout, keys, stranger_key):
    school, online, _action, _order = alipay_checkout
    assert notify(client, school, keys, online, signer=stranger_key).content == b"fail"
    assert not Payment.objects.exists()


def test_tampered_parameter_is_refused(client, alipay_checkout, keys):
    school, online, _action, _order = alipay_checkout
    params = {
        "app_id": ALIPAY_APP_ID,
        "out_trade_no": online.out_trade_no,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "1234.56",
        "trade_no": "1",
        "sign_type": "RSA2",
    }
    params["sign"] = alipay_sign(keys.alipay_private, params)
    params["trade_no"] = "2"  # only the signature can notice this
    response = client.post(
        reverse("gateways:alipay_notify", args=[school.org.slug]),
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.content == b"fail"
    assert not Payment.objects.exists()


def test_wait_buyer_pay_does_not_pay(client, alipay_checkout, keys):
    school, online, _action, _order = alipay_checkout
    assert notify(client, school, keys, online, trade_status="WAIT_BUYER_PAY").content == b"success"
    online.refresh_from_db()
    assert online.status == OnlineStatus.PENDING
    assert not Payment.objects.exists()


def test_other_school_is_refused(client, alipay_checkout, keys, other_school):
    _school, online, _action, _order = alipay_checkout
    configure(other_school, keys, active=GatewayKind.ALIPAY)
    assert notify(client, other_school, keys, online).content == b"fail"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("text, fen", [("0.01", 1), ("1", 100), ("1.5", 150), ("1234.56", 123456)])
def test_yuan_to_fen_is_exact(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["", "1.234", "-1.00", "1e3", "1.0.0", " 1.00", "NaN"])
def test_yuan_to_fen_refuses_anything_else(text):
    with pytest.raises(Refused):
        yuan_to_fen(text)
