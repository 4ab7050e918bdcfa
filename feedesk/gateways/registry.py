"""Builds the gateway adapter for a school from its stored configuration."""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from feedesk.core.errors import Conflict
from feedesk.gateways.alipay import AlipayCredentials, AlipayGateway
from feedesk.gateways.base import CallbackAnswer, Gateway, PaymentAction, ProviderStatus
from feedesk.gateways.models import ClientKind, GatewayConfig, GatewayKind, SimulatedKeys
from feedesk.gateways.simulated import (
    DatabaseStore,
    SimKeys,
    SimPlatform,
    new_apiv3_key,
    new_rsa_private_key_pem,
    new_transaction,
    public_key_pem,
)
from feedesk.gateways.wechat import LIVE_API, WeChatCredentials, WeChatGateway
from feedesk.organizations.models import Organization


def site_url() -> str:
    return str(getattr(settings, "FEEDESK_SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


def simulated_allowed() -> bool:
    # The simulated pay page lets anyone "pay": it must never be reachable on a real school.
    return bool(getattr(settings, "FEEDESK_ALLOW_SIMULATED_GATEWAY", settings.DEBUG))


def notify_url(kind: str, organization: Organization) -> str:
    name = "gateways:alipay_notify" if kind == GatewayKind.ALIPAY else "gateways:wechat_notify"
    return site_url() + reverse(name, args=[organization.slug])


def loaded_related(instance: models.Model, name: str) -> Any:
    """A one-to-one related object read together with `instance` (select_related), else None."""
    return instance._state.fields_cache.get(name)


def ensure_simulated_keys(*, organization: Organization) -> SimulatedKeys:
    """The simulated provider's keys for a school, generated and stored (encrypted) on first use."""
    existing = loaded_related(organization, "simulated_gateway_keys") or (
        SimulatedKeys.objects.filter(organization=organization).first()
    )
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return SimulatedKeys.objects.create(
                organization=organization,
                mchid=f"19{organization.pk:08d}",
                appid=f"wxsim{organization.pk:013d}",
                merchant_serial=f"5157F09EFDC096DE15EBE81A47057A72{organization.pk:08X}",
                merchant_private_key=new_rsa_private_key_pem(),
                platform_key_id=f"PUB_KEY_ID_SIM{organization.pk:010d}",
                platform_private_key=new_rsa_private_key_pem(),
                apiv3_key=new_apiv3_key(),
            )
    except IntegrityError:  # generated concurrently by another request: use that one
        return SimulatedKeys.objects.get(organization=organization)


def sim_platform_keys(keys: SimulatedKeys) -> SimKeys:
    return SimKeys(
        mchid=keys.mchid,
        appid=keys.appid,
        merchant_serial=keys.merchant_serial,
        merchant_public_key=public_key_pem(keys.merchant_private_key),
        platform_key_id=keys.platform_key_id,
        platform_private_key=keys.platform_private_key,
        apiv3_key=keys.apiv3_key,
    )


class SimulatedGateway:
    """The WeChat Pay adapter, configured with the simulated provider's keys.

    Creating a payment registers it with the simulated provider and sends the payer to its pay
    page; queries and callbacks go through the real WeChat v3 code.
    """

    kind = GatewayKind.SIMULATED.value

    def __init__(self, organization: Organization, keys: SimulatedKeys, *, api_base: str) -> None:
        self.organization = organization
        self.platform = SimPlatform(sim_platform_keys(keys), DatabaseStore(organization.pk))
        self.wechat = _wechat_gateway(
            WeChatCredentials(
                mchid=keys.mchid,
                appid=keys.appid,
                merchant_serial=keys.merchant_serial,
                merchant_private_key=keys.merchant_private_key,
                apiv3_key=keys.apiv3_key,
                platform_public_key=public_key_pem(keys.platform_private_key),
                platform_public_key_id=keys.platform_key_id,
            ),
            notify_url(GatewayKind.WECHAT, organization),
            api_base,
        )

    def create(
        self, *, out_trade_no: str, amount: int, description: str, client: ClientKind, **extra: str
    ) -> PaymentAction:
        self.platform.store.add(
            new_transaction(
                out_trade_no=out_trade_no,
                amount=amount,
                description=description,
                notify_url=self.wechat.notify_url,
            )
        )
        return PaymentAction(kind="redirect", url=reverse("gateways:sim_pay", args=[out_trade_no]))

    def query(self, out_trade_no: str) -> ProviderStatus | None:
        return self.wechat.query(out_trade_no)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> ProviderStatus:
        return self.wechat.parse_callback(headers, body)

    def callback_response(self, ok: bool, message: str = "") -> CallbackAnswer:
        return self.wechat.callback_response(ok, message)


# Adapters are built once per process for each set of credentials: building one loads (and so
# checks) RSA keys, which costs tens of milliseconds. Changed credentials make a new entry.
@lru_cache(maxsize=64)
def _wechat_gateway(credentials: WeChatCredentials, notify: str, api_base: str) -> WeChatGateway:
    return WeChatGateway(credentials, notify_url=notify, api_base=api_base)


@lru_cache(maxsize=64)
def _alipay_gateway(
    credentials: AlipayCredentials, notify: str, sandbox: bool, api_base: str
) -> AlipayGateway:
    return AlipayGateway(credentials, notify_url=notify, sandbox=sandbox, api_base=api_base)


def _config(organization: Organization) -> GatewayConfig:
    config = GatewayConfig.objects.filter(organization=organization).first()
    if config is None:
        raise Conflict(_("Online payment is not set up for this school."), code="gateway_not_configured")
    return config


def wechat_configured(config: GatewayConfig) -> bool:
    return bool(
        config.wechat_mchid
        and config.wechat_appid
        and config.wechat_merchant_serial
        and config.wechat_merchant_private_key
        and config.wechat_apiv3_key
        and (
            config.wechat_platform_cert
            or (config.wechat_platform_public_key and config.wechat_platform_public_key_id)
        )
    )


def alipay_configured(config: GatewayConfig) -> bool:
    return bool(config.alipay_app_id and config.alipay_app_private_key and config.alipay_public_key)


def gateway_for(organization: Organization, kind: str, config: GatewayConfig | None = None) -> Gateway:
    """The adapter of `kind` for a school (from its saved or the given config); Conflict when unusable."""
    if kind == GatewayKind.SIMULATED:
        if not simulated_allowed():
            raise Conflict(_("The simulated gateway is switched off here."), code="gateway_not_available")
        api = getattr(settings, "FEEDESK_SIM_WECHAT_API_URL", "") or site_url() + "/gateways/sim"
        return SimulatedGateway(organization, ensure_simulated_keys(organization=organization), api_base=api)
    config = config or _config(organization)
    if kind == GatewayKind.WECHAT and wechat_configured(config):
        return _wechat_gateway(
            WeChatCredentials(
                mchid=config.wechat_mchid,
                appid=config.wechat_appid,
                merchant_serial=config.wechat_merchant_serial,
                merchant_private_key=config.wechat_merchant_private_key,
                apiv3_key=config.wechat_apiv3_key,
                platform_cert=config.wechat_platform_cert,
                platform_public_key=config.wechat_platform_public_key,
                platform_public_key_id=config.wechat_platform_public_key_id,
            ),
            notify_url(GatewayKind.WECHAT, organization),
            getattr(settings, "FEEDESK_WECHAT_API_URL", "") or LIVE_API,
        )
    if kind == GatewayKind.ALIPAY and alipay_configured(config):
        return _alipay_gateway(
            AlipayCredentials(
                app_id=config.alipay_app_id,
                app_private_key=config.alipay_app_private_key,
                alipay_public_key=config.alipay_public_key,
            ),
            notify_url(GatewayKind.ALIPAY, organization),
            config.sandbox,
            getattr(settings, "FEEDESK_ALIPAY_API_URL", ""),
        )
    raise Conflict(_("This payment method is not set up for this school."), code="gateway_not_configured")


def active_gateway(organization: Organization) -> Gateway:
    config = GatewayConfig.objects.filter(organization=organization).first()
    if config is None or not config.active:
        raise Conflict(_("Online payment is not set up for this school."), code="gateway_not_configured")
    return gateway_for(organization, config.active)
