"""WeChat Pay API v3 through the `wechatpayv3` SDK: Native (QR) on computers, H5 and JSAPI on phones.

The SDK signs requests and verifies signatures and decrypts notifications; this adapter adds what
the SDK leaves to the merchant: the Wechatpay-Timestamp window, the check that mchid, appid,
out_trade_no and amount are the ones we expect, and the answers the spec asks for.
"""

import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

from feedesk.gateways.base import CallbackAnswer, PaymentAction, ProviderStatus, Refused
from feedesk.gateways.models import ClientKind, OnlineStatus

LIVE_API = "https://api.mch.weixin.qq.com"
TIMESTAMP_WINDOW = 300  # seconds either side of our clock, as the spec recommends
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
HEADER_NAMES = (
    "Wechatpay-Serial",
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Signature-Type",
)

TRADE_STATES = {
    "SUCCESS": OnlineStatus.SUCCEEDED,
    "REFUND": OnlineStatus.SUCCEEDED,  # paid, then (partly) refunded: the money was received
    "NOTPAY": OnlineStatus.PENDING,
    "USERPAYING": OnlineStatus.PENDING,
    "ACCEPT": OnlineStatus.PENDING,
    "CLOSED": OnlineStatus.CLOSED,
    "REVOKED": OnlineStatus.CLOSED,
    "PAYERROR": OnlineStatus.FAILED,
}


@dataclass(frozen=True)
class WeChatCredentials:
    mchid: str
    appid: str
    merchant_serial: str
    merchant_private_key: str
    apiv3_key: str
    platform_cert: str = ""
    platform_public_key: str = ""
    platform_public_key_id: str = ""

    def __repr__(self) -> str:  # never print keys, even in a traceback
        return f"WeChatCredentials(mchid={self.mchid!r}, appid={self.appid!r})"


def now() -> float:
    """The clock the timestamp window is measured against (patched in tests to pin it)."""
    return time.time()


def canonical_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    return {name: lowered.get(name.lower(), "") for name in HEADER_NAMES}


class WeChatGateway:
    kind = "wechat"

    def __init__(
        self,
        credentials: WeChatCredentials,
        *,
        notify_url: str,
        api_base: str = LIVE_API,
        timeout: float = 10.0,
    ) -> None:
        self.credentials = credentials
        self.notify_url = notify_url
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._clients: dict[WeChatPayType, WeChatPay] = {}

    def _client(self, pay_type: WeChatPayType = WeChatPayType.NATIVE) -> WeChatPay:
        if pay_type in self._clients:
            return self._clients[pay_type]
        c = self.credentials
        kwargs: dict[str, Any] = {
            "wechatpay_type": pay_type,
            "mchid": c.mchid,
            "private_key": c.merchant_private_key,
            "cert_serial_no": c.merchant_serial,
            "appid": c.appid,
            "apiv3_key": c.apiv3_key,
            "notify_url": self.notify_url,
            "timeout": (5, self.timeout),
        }
        if c.platform_public_key:
            kwargs.update(public_key=c.platform_public_key, public_key_id=c.platform_public_key_id)
            client = WeChatPay(**kwargs)
        else:
            # The SDK loads platform certificates from a directory; give it ours so it never
            # downloads them while verifying a callback.
            with tempfile.TemporaryDirectory() as cert_dir:
                Path(cert_dir, "platform.pem").write_text(c.platform_cert)
                client = WeChatPay(cert_dir=cert_dir, **kwargs)
            client._core._cert_dir = None
        client._core._gate_way = self.api_base
        self._clients[pay_type] = client
        return client

    def _knows_serial(self, serial: str) -> bool:
        """Checked before the SDK sees the headers: for an unknown serial it would go and download
        certificates from WeChat in the middle of a callback."""
        c = self.credentials
        if c.platform_public_key:
            return serial == c.platform_public_key_id
        try:
            number = int(serial, 16)
        except ValueError:
            return False
        try:
            certificates = self._client()._core._certificates
        except Exception:
            raise Refused("gateway_misconfigured") from None
        return any(cert.serial_number == number for cert in certificates)

    # -- create ---------------------------------------------------------------------------
    def create(
        self, *, out_trade_no: str, amount: int, description: str, client: ClientKind, **extra: str
    ) -> PaymentAction:
        common = {
            "description": description[:127],
            "out_trade_no": out_trade_no,
            "amount": {"total": amount, "currency": "CNY"},
        }
        try:
            if client == ClientKind.WECHAT_BROWSER and extra.get("payer_openid"):
                sdk = self._client(WeChatPayType.JSAPI)
                code, text = sdk.pay(payer={"openid": extra["payer_openid"]}, **common)
                prepay_id = self._answer(code, text)["prepay_id"]
                timestamp, nonce = str(int(time.time())), _nonce()
                package = f"prepay_id={prepay_id}"
                sign = sdk.sign([self.credentials.appid, timestamp, nonce, package])
                return PaymentAction(
                    kind="jsapi",
                    params={
                        "appId": self.credentials.appid,
                        "timeStamp": timestamp,
                        "nonceStr": nonce,
                        "package": package,
                        "signType": "RSA",
                        "paySign": sign,
                    },
                )
            if client in (ClientKind.PHONE, ClientKind.WECHAT_BROWSER):
                sdk = self._client(WeChatPayType.H5)
                scene = {"payer_client_ip": extra.get("client_ip") or "127.0.0.1", "h5_info": {"type": "Wap"}}
                code, text = sdk.pay(scene_info=scene, **common)
                return PaymentAction(kind="redirect", url=self._answer(code, text)["h5_url"])
            code, text = self._client(WeChatPayType.NATIVE).pay(**common)
            return PaymentAction(kind="qr_code", url=self._answer(code, text)["code_url"])
        except Refused:
            raise
        except Exception as exc:  # the SDK raises bare Exceptions for signature and transport errors
            raise Refused("provider_unreachable", type(exc).__name__) from None

    @staticmethod
    def _answer(code: int, text: Any) -> dict[str, Any]:
        if code not in (200, 204):
            raise Refused("provider_error", f"HTTP {code}")
        return json.loads(text) if isinstance(text, str) and text else {}

    # -- query ----------------------------------------------------------------------------
    def query(self, out_trade_no: str) -> ProviderStatus | None:
        try:
            code, text = self._client().query(out_trade_no=out_trade_no)
        except Exception as exc:  # includes "failed to verify the signature" from the SDK
            raise Refused("query_failed", str(exc)[:200]) from None
        if code == 404:
            return None
        if code != 200:
            raise Refused("provider_error", f"HTTP {code}")
        return self._normalize(json.loads(text), expected_out_trade_no=out_trade_no)

    # -- callback -------------------------------------------------------------------------
    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> ProviderStatus:
        h = canonical_headers(headers)
        if h["Wechatpay-Signature-Type"] and h["Wechatpay-Signature-Type"] != SIGNATURE_TYPE:
            raise Refused("signature_type_unsupported")
        h["Wechatpay-Signature-Type"] = SIGNATURE_TYPE
        try:
            timestamp = int(h["Wechatpay-Timestamp"])
        except ValueError:
            raise Refused("timestamp_missing") from None
        if abs(now() - timestamp) > TIMESTAMP_WINDOW:
            raise Refused("timestamp_out_of_window")
        if not h["Wechatpay-Signature"] or not h["Wechatpay-Nonce"]:
            raise Refused("signature_missing")
        if not self._knows_serial(h["Wechatpay-Serial"]):
            raise Refused("unknown_platform_serial")
        try:
            text = body.decode("utf-8")
            notice = self._client().callback(h, text)
        except Exception:
            raise Refused("malformed_notification") from None
        if not notice:
            raise Refused("signature_or_decryption_failed")
        if notice.get("event_type") not in ("TRANSACTION.SUCCESS", "TRANSACTION.FAIL"):
            raise Refused("event_type_unsupported")
        resource = notice.get("resource")
        if not isinstance(resource, dict):
            raise Refused("malformed_notification")
        return self._normalize(resource, expected_out_trade_no=None)

    def _normalize(self, data: dict[str, Any], *, expected_out_trade_no: str | None) -> ProviderStatus:
        c = self.credentials
        if str(data.get("mchid", "")) != c.mchid:
            raise Refused("mchid_mismatch")
        if str(data.get("appid", "")) != c.appid:
            raise Refused("appid_mismatch")
        out_trade_no = str(data.get("out_trade_no", ""))
        if not out_trade_no or (expected_out_trade_no and out_trade_no != expected_out_trade_no):
            raise Refused("out_trade_no_mismatch")
        state = str(data.get("trade_state", ""))
        if state not in TRADE_STATES:
            raise Refused("trade_state_unknown")
        amount = data.get("amount") or {}
        total = amount.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise Refused("amount_malformed")
        return ProviderStatus(
            out_trade_no=out_trade_no,
            status=TRADE_STATES[state],
            amount=total,
            currency=str(amount.get("currency", "")),
            provider_transaction_id=str(data.get("transaction_id", "")),
            merchant_id=c.mchid,
            app_id=c.appid,
            raw_state=state,
            data={k: data.get(k) for k in ("trade_type", "trade_state_desc", "success_time", "bank_type")},
        )

    def callback_response(self, ok: bool, message: str = "") -> CallbackAnswer:
        # Spec: success is HTTP 200/204 without a body; failure is 4XX/5XX with code FAIL.
        if ok:
            return CallbackAnswer(status=204, body=b"", content_type="application/json")
        payload = json.dumps({"code": "FAIL", "message": message or "FAIL"}, ensure_ascii=False)
        return CallbackAnswer(status=400, body=payload.encode(), content_type="application/json")


def _nonce() -> str:
    import secrets

    return secrets.token_hex(16).upper()
