"""The simulated gateway: pay page, signed and encrypted callback through the real WeChat code, v3 API."""

import datetime
import json

import pytest
from django.urls import reverse
from wechatpayv3.utils import build_authorization, load_private_key

from feedesk.gateways.models import (
    ClientKind,
    GatewayKind,
    OnlinePaymentEvent,
    OnlineStatus,
    SimulatedKeys,
    SimulatedTransaction,
)
from feedesk.gateways.services import save_gateway_config, start_online_payment
from feedesk.gateways.simulated import public_key_pem, rsa_verify
from feedesk.payments.models import Payment
from feedesk.payments.services import AllocationRequest
from tests.gateways.conftest import online_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim_checkout(school):
    save_gateway_config(actor=school.principal, active=GatewayKind.SIMULATED)
    student = school.student()
    order = online_order(school, student, 88_00)
    online, action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, 88_00)], client=ClientKind.PHONE
    )
    return school, online, action, order


def test_keys_are_generated_once_per_school(sim_checkout, other_school):
    school, *_ = sim_checkout
    save_gateway_config(actor=school.principal, active=GatewayKind.SIMULATED)
    save_gateway_config(actor=other_school.principal, active=GatewayKind.SIMULATED)
    assert SimulatedKeys.objects.count() == 2
    mine, theirs = SimulatedKeys.objects.order_by("pk")
    assert mine.platform_private_key != theirs.platform_private_key
    assert mine.platform_private_key.startswith("-----BEGIN PRIVATE KEY-----")


def test_pay_page_delivers_a_verified_callback(client, sim_checkout):
    _school, online, action, order = sim_checkout
    assert action.url == reverse("gateways:sim_pay", args=[online.out_trade_no])
    page = client.get(action.url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert b"\xc2\xa588.00" in page.content and b'name="viewport"' in page.content
    response = client.post(action.url, {"action": "pay"})
    assert response.status_code == 302
    assert response["Location"] == reverse("gateways:return", args=[online.out_trade_no])
    online.refresh_from_db()
    order.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED and order.status == "paid"
    event = OnlinePaymentEvent.objects.get(online_payment=online, source="callback")
    assert (event.verified, event.outcome) == (True, "applied")
    result = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b"Payment received" in result.content and online.payment.receipt_number.encode() in result.content
    # Pressing Pay again (back button) changes nothing.
    client.post(action.url, {"action": "pay"})
    assert Payment.objects.count() == 1


def test_fail_button_records_a_payment_error(client, sim_checkout):
    _school, online, action, _order = sim_checkout
    client.post(action.url, {"action": "fail"})
    assert SimulatedTransaction.objects.get(out_trade_no=online.out_trade_no).trade_state == "PAYERROR"
    online.refresh_from_db()
    assert online.status == OnlineStatus.PENDING  # WeChat sends no notification for a failure
    assert not Payment.objects.exists()


def test_simulated_api_answers_signed_v3_queries(client, sim_checkout):
    school, online, _action, _order = sim_checkout
    keys = SimulatedKeys.objects.get(organization=school.org)
    path = f"/v3/pay/transactions/out-trade-no/{online.out_trade_no}?mchid={keys.mchid}"
    authorization = build_authorization(
        path, "GET", keys.mchid, keys.merchant_serial, load_private_key(keys.merchant_private_key)
    )
    response = client.get("/gateways/sim" + path, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200
    body = response.content.decode()
    message = f"{response['Wechatpay-Timestamp']}\n{response['Wechatpay-Nonce']}\n{body}\n"
    assert rsa_verify(public_key_pem(keys.platform_private_key), message, response["Wechatpay-Signature"])
    assert json.loads(body)["trade_state"] == "NOTPAY"
    # A request signed for another path is refused.
    forged = client.get("/gateways/sim" + path.replace("mchid=", "mchid=0"), HTTP_AUTHORIZATION=authorization)
    assert forged.status_code == 401


def test_simulated_gateway_can_be_switched_off(client, sim_checkout, settings):
    _school, _online, action, _order = sim_checkout
    settings.FEEDESK_ALLOW_SIMULATED_GATEWAY = False
    assert client.get(action.url).status_code == 404


def _trail(online):
    from feedesk.audit.models import AuditEntry

    events = list(
        OnlinePaymentEvent.objects.filter(online_payment=online)
        .order_by("pk")
        .values_list("source", "outcome", "status_before", "status_after", "verified")
    )
    audits = list(
        AuditEntry.objects.filter(target_type="gateways.onlinepayment", target_id=online.pk)
        .order_by("pk")
        .values_list("action", "actor_id", "amount", "data")
    )
    return events, audits


def test_the_provider_taking_a_payment_makes_it_pending(sim_checkout):
    _school, online, _action, _order = sim_checkout
    stored = type(online).objects.get(pk=online.pk)
    assert online.status == stored.status == OnlineStatus.PENDING and stored.updated_at == online.updated_at
    events, audits = _trail(online)
    assert events == [("create", "applied", "created", "pending", True)]
    assert audits[-1] == (
        "online_payment.pending",
        None,
        None,
        {"source": "create", "provider_transaction_id": ""},
    )


def test_a_callback_before_the_provider_answers_is_not_undone(school, monkeypatch):
    from feedesk.gateways import services
    from feedesk.gateways.base import ProviderStatus
    from feedesk.gateways.registry import SimulatedGateway

    save_gateway_config(actor=school.principal, active=GatewayKind.SIMULATED)
    student = school.student()
    order = online_order(school, student, 88_00)
    create = SimulatedGateway.create

    def paid_before_answering(self, **kwargs):
        action = create(self, **kwargs)
        online = services.OnlinePayment.objects.get(out_trade_no=kwargs["out_trade_no"])
        services._apply(
            online.pk,
            ProviderStatus(
                online.out_trade_no,
                OnlineStatus.SUCCEEDED,
                online.amount,
                provider_transaction_id="4200000001",
            ),
            source=OnlinePaymentEvent.Source.CALLBACK,
        )
        return action

    monkeypatch.setattr(SimulatedGateway, "create", paid_before_answering)
    online, _action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, 88_00)], client=ClientKind.PHONE
    )
    assert online.status == OnlineStatus.SUCCEEDED and Payment.objects.count() == 1
    events, _audits = _trail(online)
    assert [e[:2] for e in events] == [("callback", "applied"), ("create", "ignored")]


def test_the_public_half_of_a_simulated_key_verifies_its_signatures(keys):
    from cryptography.hazmat.primitives import serialization

    from feedesk.gateways.simulated import rsa_sign

    checked = serialization.load_pem_private_key(keys.platform_private.encode(), password=None)
    expected = checked.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_key_pem(keys.platform_private) == expected.decode()
    signature = rsa_sign(keys.platform_private, "message")
    assert rsa_verify(public_key_pem(keys.platform_private), "message", signature)
    assert not rsa_verify(public_key_pem(keys.merchant_private), "message", signature)


def test_paying_records_the_transaction_once_even_when_the_provider_lost_it(client, sim_checkout):
    _school, online, action, _order = sim_checkout
    SimulatedTransaction.objects.filter(out_trade_no=online.out_trade_no).delete()
    client.post(action.url, {"action": "pay"})
    txn = SimulatedTransaction.objects.get(out_trade_no=online.out_trade_no)
    assert (txn.trade_state, txn.amount) == ("SUCCESS", 88_00) and txn.transaction_id.startswith("4200")
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED and online.provider_transaction_id == txn.transaction_id
    client.post(action.url, {"action": "pay"})
    assert SimulatedTransaction.objects.get(pk=txn.pk).transaction_id == txn.transaction_id
    assert Payment.objects.count() == 1


def test_a_paid_transaction_keeps_its_provider_id_and_time(client, sim_checkout):
    _school, online, action, _order = sim_checkout
    client.post(action.url, {"action": "pay"})
    txn = SimulatedTransaction.objects.get(out_trade_no=online.out_trade_no)
    online.refresh_from_db()
    assert txn.trade_state == "SUCCESS" and txn.success_time is not None
    assert online.provider_transaction_id == txn.transaction_id
    assert online.payment.received_at <= txn.success_time + datetime.timedelta(seconds=1)
