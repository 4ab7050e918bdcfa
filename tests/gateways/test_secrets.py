"""Merchant secrets: encrypted at rest, never rendered, never logged; who may set them; system account."""

import io
import logging

import pytest
from django.db import connection
from django.urls import reverse

from feedesk.core.errors import PermissionDenied, ValidationFailed
from feedesk.gateways.models import GatewayConfig, GatewayKind
from feedesk.gateways.secrets import SecretRedactingFilter
from feedesk.gateways.services import gateway_system_user, save_gateway_config
from feedesk.gateways.simulated import public_key_pem
from tests.gateways.conftest import APPID, MCHID, MERCHANT_SERIAL, PLATFORM_KEY_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved(school, keys):
    return save_gateway_config(
        actor=school.finance,
        active=GatewayKind.WECHAT,
        values={
            "wechat_mchid": MCHID,
            "wechat_appid": APPID,
            "wechat_merchant_serial": MERCHANT_SERIAL,
            "wechat_merchant_private_key": keys.merchant_private,
            "wechat_apiv3_key": keys.apiv3,
            "wechat_platform_public_key": public_key_pem(keys.platform_private),
            "wechat_platform_public_key_id": PLATFORM_KEY_ID,
        },
    )


def key_body(pem: str) -> str:
    return pem.splitlines()[5]  # a line from the middle of the key


def test_secrets_are_encrypted_at_rest(saved, keys):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wechat_merchant_private_key, wechat_apiv3_key FROM gateways_gatewayconfig WHERE id = %s",
            [saved.pk],
        )
        private_key, apiv3 = cursor.fetchone()
    assert private_key.startswith("fernet:") and apiv3.startswith("fernet:")
    assert key_body(keys.merchant_private) not in private_key and keys.apiv3 not in apiv3
    fresh = GatewayConfig.objects.get(pk=saved.pk)
    assert (
        fresh.wechat_apiv3_key == keys.apiv3
        and fresh.wechat_merchant_private_key == keys.merchant_private.strip()
    )


def test_secrets_saved_under_one_settings_key_are_unreadable_under_another(saved, keys, settings):
    # Read once under the key they were saved with (decrypted values are kept by their token).
    assert GatewayConfig.objects.get(pk=saved.pk).wechat_apiv3_key == keys.apiv3
    settings.FEEDESK_SECRETS_KEY = "a-rotated-settings-key-0123456789abcdef"
    with pytest.raises(ValueError, match="current settings key"):
        GatewayConfig.objects.get(pk=saved.pk)
    settings.FEEDESK_SECRETS_KEY = ""
    assert GatewayConfig.objects.get(pk=saved.pk).wechat_apiv3_key == keys.apiv3


def test_settings_page_never_shows_secrets(client, school, saved, keys):
    client.force_login(school.principal)
    page = client.get(reverse("gateways:settings"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert keys.apiv3 not in text and key_body(keys.merchant_private) not in text
    assert "PRIVATE KEY" not in text
    assert f"saved ●●●● (ends with …{keys.apiv3[-4:]})" in text
    assert MCHID in text  # ids are not secrets


def test_blank_secret_keeps_the_saved_one(client, school, saved, keys):
    client.force_login(school.finance)
    response = client.post(
        reverse("gateways:settings"),
        {
            "active": "wechat",
            "wechat_mchid": MCHID,
            "wechat_appid": APPID,
            "wechat_merchant_serial": MERCHANT_SERIAL,
            "wechat_merchant_private_key": "",
            "wechat_apiv3_key": "",
            "wechat_platform_public_key": public_key_pem(keys.platform_private),
            "wechat_platform_public_key_id": PLATFORM_KEY_ID,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200 and b"Saved." in response.content
    assert keys.apiv3.encode() not in response.content
    assert GatewayConfig.objects.get(pk=saved.pk).wechat_apiv3_key == keys.apiv3


def test_only_principal_and_finance_manage_gateways(client, school):
    for user in (school.cashier, school.adviser, school.instructor):
        with pytest.raises(PermissionDenied):
            save_gateway_config(actor=user, active=GatewayKind.SIMULATED)
        client.force_login(user)
        assert client.get(reverse("gateways:settings")).status_code == 403
    assert not GatewayConfig.objects.exists()


def test_unreadable_key_is_refused_on_save(school, keys):
    with pytest.raises(ValidationFailed):
        save_gateway_config(
            actor=school.principal,
            active=GatewayKind.ALIPAY,
            values={"alipay_app_id": "1", "alipay_app_private_key": "not a key", "alipay_public_key": "nope"},
        )
    assert not GatewayConfig.objects.exists()


def test_logging_filter_redacts_keys(saved, keys):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactingFilter())
    log = logging.getLogger("feedesk.test.secrets")
    log.addHandler(handler)
    try:
        log.error("config %s key %s", keys.apiv3, keys.merchant_private)
        try:
            raise ValueError(f"bad key {keys.apiv3}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert keys.apiv3 not in output and key_body(keys.merchant_private) not in output
    assert "[redacted]" in output and "[redacted private key]" in output


def test_console_handler_has_the_filter():
    from django.conf import settings

    assert settings.LOGGING["handlers"]["console"]["filters"] == ["redact_secrets"]


def test_callback_refusals_do_not_log_secrets(client, school, saved, keys, caplog):
    caplog.set_level(logging.DEBUG)
    client.post(
        reverse("gateways:wechat_notify", args=[school.org.slug]), data=b"{}", content_type="application/json"
    )
    assert caplog.records  # the refusal was logged
    assert keys.apiv3 not in caplog.text and "PRIVATE KEY" not in caplog.text


def test_system_account_posts_but_cannot_log_in(client, school):
    user = gateway_system_user(organization=school.org)
    assert gateway_system_user(organization=school.org) == user
    assert user.role == "cashier" and not user.has_usable_password()
    user.set_password("known-password-123")
    user.save()
    assert not client.login(username=user.username, password="known-password-123")
    assert client.login(username=school.cashier.username, password="pw-123456")
