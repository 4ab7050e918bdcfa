"""Gateway fixtures: locally generated merchant/platform keys, a school set up for WeChat Pay and
Alipay, and a local server that speaks the WeChat Pay v3 protocol."""

import socket
import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from feedesk.billing.services import LineDraft, create_order
from feedesk.gateways.models import GatewayConfig, GatewayKind
from feedesk.gateways.simulated import (
    MemoryStore,
    ProtocolServer,
    SimKeys,
    SimPlatform,
    new_apiv3_key,
    new_rsa_private_key_pem,
    public_key_pem,
)

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
ALIPAY_APP_ID = "2021000000000001"


@dataclass(frozen=True)
class Keys:
    merchant_private: str
    platform_private: str
    apiv3: str
    alipay_app_private: str
    alipay_private: str  # Alipay's own key: signs notifications

    def sim_keys(self, **overrides: str) -> SimKeys:
        values = {
            "mchid": MCHID,
            "appid": APPID,
            "merchant_serial": MERCHANT_SERIAL,
            "merchant_public_key": public_key_pem(self.merchant_private),
            "platform_key_id": PLATFORM_KEY_ID,
            "platform_private_key": self.platform_private,
            "apiv3_key": self.apiv3,
        }
        values.update(overrides)
        return SimKeys(**values)


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        merchant_private=new_rsa_private_key_pem(),
        platform_private=new_rsa_private_key_pem(),
        apiv3=new_apiv3_key(),
        alipay_app_private=new_rsa_private_key_pem(),
        alipay_private=new_rsa_private_key_pem(),
    )


@pytest.fixture(scope="session")
def stranger_key() -> str:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def configure(school, keys: Keys, active: str = GatewayKind.WECHAT) -> GatewayConfig:
    return GatewayConfig.objects.create(
        organization=school.org,
        active=active,
        wechat_mchid=MCHID,
        wechat_appid=APPID,
        wechat_merchant_serial=MERCHANT_SERIAL,
        wechat_merchant_private_key=keys.merchant_private,
        wechat_apiv3_key=keys.apiv3,
        wechat_platform_public_key=public_key_pem(keys.platform_private),
        wechat_platform_public_key_id=PLATFORM_KEY_ID,
        alipay_app_id=ALIPAY_APP_ID,
        alipay_app_private_key=keys.alipay_app_private,
        alipay_public_key=public_key_pem(keys.alipay_private),
    )


def free_port() -> int:
    """A free port in the range this project's tests may use."""
    for port in range(8401, 8441):
        with socket.socket() as probe:
            # As the servers bind: a port whose old connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8401-8440")


@pytest.fixture
def wechat_server(keys, settings):
    """The 'WeChat Pay' side: a v3 protocol server with our locally generated platform key."""
    platform = SimPlatform(keys.sim_keys(), MemoryStore())
    server = ProtocolServer(platform, port=free_port())
    settings.FEEDESK_WECHAT_API_URL = server.url
    with server.running():
        yield server


@pytest.fixture
def wechat_school(school, keys, wechat_server):
    configure(school, keys)
    return school


def online_order(school, student, amount=100_00, description="教材费"):
    return create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind="other", description=description, unit_price=amount)],
        online_payable=True,
    )


def notification(platform: SimPlatform, online, *, age: int = 0, **changes):
    """A WeChat Pay 'payment succeeded' notification for `online`, with optional resource changes."""
    txn = {
        "out_trade_no": online.out_trade_no,
        "amount": online.amount,
        "description": online.description,
        "trade_state": "SUCCESS",
        "transaction_id": "4200001234202611211234567890",
        "success_time": "2026-11-21T10:00:00+08:00",
        "notify_url": "",
    }
    resource = platform.resource(txn)
    for key, value in changes.items():
        if key == "total":
            resource["amount"]["total"] = value
        elif key == "currency":
            resource["amount"]["currency"] = value
        else:
            resource[key] = value
    return platform.notification(txn, resource=resource, timestamp=int(time.time()) - age)
