"""WeChat Pay API v3 callbacks and queries, checked against the published formats with local keys."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import connection
from django.urls import reverse
from wechatpayv3.utils import aes_decrypt

from feedesk.gateways.models import ClientKind, OnlinePayment, OnlinePaymentEvent, OnlineStatus
from feedesk.gateways.services import (
    gateway_system_user,
    poll_pending_payments,
    refresh_online_payment,
    start_online_payment,
)
from feedesk.gateways.simulated import (
    MemoryStore,
    SimPlatform,
    aes_gcm_encrypt,
    mark_paid,
    public_key_pem,
    rsa_verify,
)
from feedesk.payments.models import Payment
from feedesk.payments.selectors import student_account
from feedesk.payments.services import AllocationRequest, record_payment
from tests.gateways.conftest import MERCHANT_SERIAL, configure, notification, online_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkout(wechat_school):
    student = wechat_school.student()
    order = online_order(wechat_school, student, 300_00)
    online, action = start_online_payment(
        student=student,
        allocations=[AllocationRequest(order.pk, 300_00)],
        client=ClientKind.DESKTOP,
        guardian=wechat_school.guardian,
    )
    return online, action, order


def post(client, school, headers, body):
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return client.post(
        reverse("gateways:wechat_notify", args=[school.org.slug]),
        data=body,
        content_type="application/json",
        **extra,
    )


def platform_for(wechat_server) -> SimPlatform:
    return wechat_server.platform


def test_native_checkout_goes_through_the_v3_api(checkout, wechat_server):
    online, action, _order = checkout
    assert action.kind == "qr_code" and action.url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert online.status == OnlineStatus.PENDING
    # The server checked our Authorization signature before answering 200.
    assert wechat_server.requests == [("POST", "/v3/pay/transactions/native", 200)]
    assert wechat_server.platform.store.get(online.out_trade_no)["amount"] == 300_00


def test_phone_checkout_gets_an_h5_url(wechat_school):
    student = wechat_school.student()
    order = online_order(wechat_school, student)
    _online, action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, order.total)], client=ClientKind.PHONE
    )
    assert action.kind == "redirect" and "wx.tenpay.com" in action.url


def test_signature_is_over_timestamp_nonce_body_lines(checkout, wechat_server, keys):
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online)
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body.decode()}\n".encode()
    public = serialization.load_pem_public_key(public_key_pem(keys.platform_private).encode())
    public.verify(
        base64.b64decode(headers["Wechatpay-Signature"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    envelope = json.loads(body)
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"


def test_aes_gcm_round_trip(keys):
    plain = json.dumps({"out_trade_no": "FD1", "amount": {"total": 1}}, ensure_ascii=False)
    sealed = aes_gcm_encrypt(keys.apiv3, plain, "transaction")
    assert len(sealed["nonce"]) == 12
    assert aes_decrypt(sealed["nonce"], sealed["ciphertext"], "transaction", keys.apiv3) == plain
    assert aes_decrypt(sealed["nonce"], sealed["ciphertext"], "other", keys.apiv3) is None
    flipped = base64.b64encode(
        bytes([base64.b64decode(sealed["ciphertext"])[0] ^ 1]) + base64.b64decode(sealed["ciphertext"])[1:]
    ).decode()
    assert aes_decrypt(sealed["nonce"], flipped, "transaction", keys.apiv3) is None


def test_verified_success_posts_one_online_payment(client, checkout, wechat_server, wechat_school):
    online, _action, order = checkout
    headers, body = notification(wechat_server.platform, online)
    response = post(client, wechat_school, headers, body)
    assert response.status_code == 204 and response.content == b""
    online.refresh_from_db()
    order.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED
    assert online.provider_transaction_id == "4200001234202611211234567890"
    payment = online.payment
    assert (payment.channel, payment.amount, payment.idempotency_key) == (
        "online",
        300_00,
        f"online:{online.out_trade_no}",
    )
    assert payment.reference == online.provider_transaction_id
    assert [(a.order_id, a.amount) for a in payment.allocations.all()] == [(order.pk, 300_00)]
    assert order.status == "paid"
    assert payment.recorded_by.gateway_system_account.organization_id == wechat_school.org.pk

    # The same notification again (WeChat retries): answered as success, posted once.
    assert post(client, wechat_school, headers, body).status_code == 204
    assert Payment.objects.filter(student=online.student).count() == 1
    outcomes = list(online.events.values_list("source", "outcome"))
    assert ("callback", "applied") in outcomes and ("callback", "duplicate") in outcomes


@pytest.mark.parametrize("age, accepted", [(299, True), (-299, True), (301, False), (-301, False)])
def test_timestamp_window(client, checkout, wechat_server, wechat_school, age, accepted, monkeypatch):
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online, age=age)
    sent = int(headers["Wechatpay-Timestamp"]) + age
    monkeypatch.setattr("feedesk.gateways.wechat.now", lambda: float(sent))
    response = post(client, wechat_school, headers, body)
    assert response.status_code == (204 if accepted else 400)
    assert Payment.objects.filter(student=online.student).exists() is accepted
    if not accepted:
        assert json.loads(response.content) == {"code": "FAIL", "message": "timestamp_out_of_window"}


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"mchid": "1900000000"}, "mchid_mismatch"),
        ({"appid": "wx0000000000000000"}, "appid_mismatch"),
        ({"out_trade_no": "FD000000000000UNKNOWN"}, "unknown_out_trade_no"),
        ({"total": 299_99}, "amount_mismatch"),
        ({"total": 300_01}, "amount_mismatch"),
        ({"currency": "USD"}, "currency_mismatch"),
    ],
)
def test_every_field_is_checked(client, checkout, wechat_server, wechat_school, change, reason):
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online, **change)
    response = post(client, wechat_school, headers, body)
    assert response.status_code == 400
    assert json.loads(response.content) == {"code": "FAIL", "message": reason}
    assert not Payment.objects.exists()
    online.refresh_from_db()
    assert online.status == OnlineStatus.PENDING
    assert OnlinePaymentEvent.objects.filter(outcome="refused", reason=reason, source="callback").exists()


def test_forged_signature_is_refused(client, checkout, wechat_server, wechat_school, keys, stranger_key):
    online, _action, _order = checkout
    forger = SimPlatform(keys.sim_keys(platform_private_key=stranger_key), wechat_server.platform.store)
    headers, body = notification(forger, online)
    response = post(client, wechat_school, headers, body)
    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "FAIL"
    assert not Payment.objects.exists()


def test_tampered_body_is_refused(client, checkout, wechat_server, wechat_school):
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online)
    tampered = body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESS" ')
    assert post(client, wechat_school, headers, tampered).status_code == 400
    envelope = json.loads(body)
    envelope["id"] = "EV-forged"
    assert post(client, wechat_school, headers, json.dumps(envelope).encode()).status_code == 400
    assert not Payment.objects.exists()


def test_wrong_apiv3_key_cannot_decrypt(client, checkout, wechat_server, wechat_school, keys):
    online, _action, _order = checkout
    other = SimPlatform(keys.sim_keys(apiv3_key="0" * 32), wechat_server.platform.store)
    headers, body = notification(other, online)
    response = post(client, wechat_school, headers, body)
    assert json.loads(response.content)["message"] == "signature_or_decryption_failed"
    assert not Payment.objects.exists()


def test_missing_or_unknown_serial_is_refused(client, checkout, wechat_server, wechat_school):
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online)
    assert (
        post(client, wechat_school, {**headers, "Wechatpay-Serial": "PUB_KEY_ID_OTHER"}, body).status_code
        == 400
    )
    del headers["Wechatpay-Signature"]
    assert post(client, wechat_school, headers, body).status_code == 400
    assert not Payment.objects.exists()


def test_other_schools_order_is_refused(client, checkout, wechat_server, wechat_school, other_school, keys):
    # Even with the very same merchant keys, a notification at another school's URL finds nothing there.
    configure(other_school, keys)
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online)
    response = post(client, other_school, headers, body)
    assert response.status_code == 400
    assert json.loads(response.content)["message"] == "unknown_out_trade_no"
    unknown = client.post(
        reverse("gateways:wechat_notify", args=["no-such-school"]), data=body, content_type="application/json"
    )
    assert unknown.status_code == 404 and json.loads(unknown.content)["code"] == "FAIL"
    assert not Payment.objects.exists()
    online.refresh_from_db()
    assert online.status == OnlineStatus.PENDING


def test_late_events_do_not_move_status_backwards(client, checkout, wechat_server, wechat_school):
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online)
    assert post(client, wechat_school, headers, body).status_code == 204
    for state in ("NOTPAY", "PAYERROR", "CLOSED"):
        late_headers, late_body = notification(wechat_server.platform, online, trade_state=state)
        assert post(client, wechat_school, late_headers, late_body).status_code == 204
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED
    assert list(online.events.filter(source="callback").values_list("outcome", flat=True)) == [
        "applied",
        "ignored",
        "ignored",
        "ignored",
    ]
    assert Payment.objects.count() == 1


def test_failed_then_paid_is_accepted(client, checkout, wechat_server, wechat_school):
    online, _action, _order = checkout
    h, b = notification(wechat_server.platform, online, trade_state="PAYERROR")
    post(client, wechat_school, h, b)
    online.refresh_from_db()
    assert online.status == OnlineStatus.FAILED
    h, b = notification(wechat_server.platform, online)
    post(client, wechat_school, h, b)
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED and online.payment is not None


def test_query_path_resolves_a_lost_callback(checkout, wechat_server, wechat_school):
    online, _action, order = checkout
    assert poll_pending_payments(older_than_minutes=0).succeeded == 0  # not paid yet: stays pending
    store = wechat_server.platform.store
    store.save(mark_paid(store.get(online.out_trade_no)))  # paid at WeChat, the callback never arrives
    report = poll_pending_payments(older_than_minutes=0)
    assert (report.checked, report.succeeded, report.still_pending) == (1, 1, 0)
    online.refresh_from_db()
    order.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED and order.status == "paid"
    assert online.provider_transaction_id == store.get(online.out_trade_no)["transaction_id"]
    gets = [r for r in wechat_server.requests if r[0] == "GET"]
    assert gets and all(status == 200 for *_x, status in gets)
    assert gets[-1][1] == f"/v3/pay/transactions/out-trade-no/{online.out_trade_no}?mchid=1900009191"
    assert poll_pending_payments(older_than_minutes=0).checked == 0  # safe to re-run
    assert Payment.objects.count() == 1


def test_poll_skips_recent_payments(checkout, wechat_server):
    assert poll_pending_payments(older_than_minutes=10).checked == 0


def test_query_with_a_wrong_merchant_key_changes_nothing(
    checkout, wechat_server, wechat_school, stranger_key
):
    online, _action, _order = checkout
    store = wechat_server.platform.store
    store.save(mark_paid(store.get(online.out_trade_no)))
    wechat_school.org.gateway_config.wechat_merchant_private_key = stranger_key
    wechat_school.org.gateway_config.save()
    refreshed = refresh_online_payment(online_payment=online)
    assert refreshed.status == OnlineStatus.PENDING
    assert wechat_server.requests[-1][2] == 401  # the server refused our signature
    assert online.events.filter(source="query", outcome="refused").exists()
    assert not Payment.objects.exists()


def test_query_answer_signed_by_someone_else_is_refused(checkout, wechat_server, keys, stranger_key):
    online, _action, _order = checkout
    store = wechat_server.platform.store
    store.save(mark_paid(store.get(online.out_trade_no)))
    wechat_server.platform = SimPlatform(keys.sim_keys(platform_private_key=stranger_key), store)
    assert refresh_online_payment(online_payment=online).status == OnlineStatus.PENDING
    assert not Payment.objects.exists()


def test_order_paid_at_desk_meanwhile_leaves_the_rest_as_credit(client, wechat_school, wechat_server):
    student = wechat_school.student()
    first = online_order(wechat_school, student, 200_00)
    second = online_order(wechat_school, student, 100_00)
    online, _action = start_online_payment(
        student=student,
        allocations=[AllocationRequest(first.pk, 200_00), AllocationRequest(second.pk, 100_00)],
        client=ClientKind.DESKTOP,
    )
    record_payment(
        actor=wechat_school.cashier,
        student=student,
        amount=150_00,
        channel="cash",
        allocations=[AllocationRequest(first.pk, 150_00)],
    )
    headers, body = notification(wechat_server.platform, online)
    assert post(client, wechat_school, headers, body).status_code == 204
    online.refresh_from_db()
    allocations = {a.order_id: a.amount for a in online.payment.allocations.all()}
    assert allocations == {first.pk: 50_00, second.pk: 100_00}
    account = student_account(student=student)
    assert (account.balance_due, account.credit) == (0, 150_00)


def test_cart_must_be_payable_online(wechat_school):
    from feedesk.billing.services import LineDraft, create_order
    from feedesk.core.errors import Conflict

    student = wechat_school.student()
    order = create_order(
        actor=wechat_school.cashier,
        student=student,
        lines=[LineDraft(kind="other", description="x", unit_price=100)],
    )
    with pytest.raises(Conflict):
        start_online_payment(
            student=student, allocations=[AllocationRequest(order.pk, 100)], client=ClientKind.DESKTOP
        )
    assert not OnlinePayment.objects.exists()


def test_merchant_serial_is_sent_in_authorization(checkout, wechat_server):
    # The server only answers requests whose Authorization names our mchid and serial and verifies.
    assert wechat_server.platform.keys.merchant_serial == MERCHANT_SERIAL
    assert wechat_server.requests[0][2] == 200


def test_jsapi_parameters_are_signed_with_the_merchant_key(wechat_school, wechat_server, keys):
    student = wechat_school.student()
    order = online_order(wechat_school, student)
    _online, action = start_online_payment(
        student=student,
        allocations=[AllocationRequest(order.pk, order.total)],
        client=ClientKind.WECHAT_BROWSER,
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    )
    p = action.params
    assert action.kind == "jsapi" and p["package"].startswith("prepay_id=wx") and p["signType"] == "RSA"
    message = f"{p['appId']}\n{p['timeStamp']}\n{p['nonceStr']}\n{p['package']}\n"
    assert rsa_verify(public_key_pem(keys.merchant_private), message, p["paySign"])
    assert wechat_server.requests[-1] == ("POST", "/v3/pay/transactions/jsapi", 200)


def test_platform_certificate_mode(client, wechat_school, wechat_server, keys):
    """Schools that still use a platform certificate instead of the WeChat Pay public key."""
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = serialization.load_pem_private_key(keys.platform_private.encode(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.datetime.now(datetime.UTC)
    serial = 0x0A1B2C3D4E5F60718293A4B5C6D7E8F901234567
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    config = wechat_school.org.gateway_config
    config.wechat_platform_public_key = config.wechat_platform_public_key_id = ""
    config.wechat_platform_cert = cert.public_bytes(serialization.Encoding.PEM).decode()
    config.save()
    # The platform now signs with its certificate's serial in Wechatpay-Serial.
    wechat_server.platform = SimPlatform(keys.sim_keys(platform_key_id=format(serial, "X")), MemoryStore())
    student = wechat_school.student()
    order = online_order(wechat_school, student)
    online, _action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, order.total)], client=ClientKind.DESKTOP
    )
    headers, body = notification(wechat_server.platform, online)
    headers["Wechatpay-Serial"] = "0" + format(serial, "X")  # 40 hex digits with a leading zero
    assert post(client, wechat_school, headers, body).status_code == 204
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED


def test_poll_command_resolves_a_lost_callback(checkout, wechat_server):
    from io import StringIO

    from django.core.management import call_command

    online, _action, _order = checkout
    store = wechat_server.platform.store
    store.save(mark_paid(store.get(online.out_trade_no)))
    out = StringIO()
    call_command("poll_pending_payments", "--older-than", "0", stdout=out)
    assert out.getvalue().strip() == "checked 1, succeeded 1, still pending 0"
    call_command("poll_pending_payments", "--older-than", "0", stdout=out)
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED and Payment.objects.count() == 1


def test_a_system_user_limited_to_another_campus_posts_nothing(
    client, checkout, wechat_server, wechat_school
):
    # The campus check still applies to the gateway's own account (read with the payment's lock).
    online, _action, order = checkout
    system_user = gateway_system_user(organization=wechat_school.org)
    assert order.campus_id != wechat_school.campus2.pk
    system_user.campuses.set([wechat_school.campus2])
    headers, body = notification(wechat_server.platform, online)
    response = post(client, wechat_school, headers, body)
    assert response.status_code == 500
    assert not Payment.objects.exists()
    online.refresh_from_db()
    assert online.status == OnlineStatus.PENDING and online.payment_id is None
    assert online.events.filter(outcome="refused", reason="permission_denied").exists()

    system_user.campuses.set([wechat_school.campus2, order.campus_id])
    assert post(client, wechat_school, headers, body).status_code == 204
    online.refresh_from_db()
    assert online.status == OnlineStatus.SUCCEEDED and Payment.objects.count() == 1


def test_a_verified_callback_posts_in_few_statements(
    client, checkout, wechat_server, wechat_school, django_assert_max_num_queries
):
    """The payment is read once, under its lock, with everything its posting needs; no savepoint."""
    online, _action, _order = checkout
    headers, body = notification(wechat_server.platform, online)
    # PostgreSQL writes the posting's entries, postings, totals and chain head, the payment, its
    # allocations, orders and audit row, and the online payment's new state, event and audit row
    # in one statement.
    budget = 11 if connection.vendor == "postgresql" else 21
    with django_assert_max_num_queries(budget) as captured:
        assert post(client, wechat_school, headers, body).status_code == 204
    statements = [q["sql"] for q in captured.captured_queries]
    assert sum("gateways_onlinepayment" in s and s.startswith("SELECT") for s in statements) == 1
    # One savepoint: the callback's own transaction, nested in the test's; none for the posting.
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 1
    assert not any(
        s.startswith("SELECT") and "users_user_campuses" in s.split("EXISTS")[0] for s in statements
    )
