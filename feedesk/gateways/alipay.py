"""Alipay through `python-alipay-sdk`: page pay on computers, WAP pay on phones, RSA2 notifications."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from alipay import AliPay

from feedesk.gateways.base import (
    CallbackAnswer,
    PaymentAction,
    ProviderStatus,
    Refused,
    fen_to_yuan,
    yuan_to_fen,
)
from feedesk.gateways.models import ClientKind, OnlineStatus

LIVE_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"

TRADE_STATUSES = {
    "TRADE_SUCCESS": OnlineStatus.SUCCEEDED,
    "TRADE_FINISHED": OnlineStatus.SUCCEEDED,
    "WAIT_BUYER_PAY": OnlineStatus.PENDING,
    "TRADE_CLOSED": OnlineStatus.CLOSED,
}


@dataclass(frozen=True)
class AlipayCredentials:
    app_id: str
    app_private_key: str
    alipay_public_key: str

    def __repr__(self) -> str:
        return f"AlipayCredentials(app_id={self.app_id!r})"


def _pem(key: str, kind: str) -> str:
    key = key.strip()
    if key.startswith("-----BEGIN"):
        return key
    return f"-----BEGIN {kind}-----\n{key}\n-----END {kind}-----"


class AlipayGateway:
    kind = "alipay"

    def __init__(
        self,
        credentials: AlipayCredentials,
        *,
        notify_url: str,
        return_url: str = "",
        sandbox: bool = False,
        api_base: str = "",
    ) -> None:
        self.credentials = credentials
        self.notify_url = notify_url
        self.return_url = return_url
        self.client = AliPay(
            appid=credentials.app_id,
            app_notify_url=notify_url,
            app_private_key_string=_pem(credentials.app_private_key, "PRIVATE KEY"),
            alipay_public_key_string=_pem(credentials.alipay_public_key, "PUBLIC KEY"),
            sign_type="RSA2",
            debug=sandbox,
        )
        self.gateway_url = api_base or (SANDBOX_GATEWAY if sandbox else LIVE_GATEWAY)
        self.client._gateway = self.gateway_url

    def create(
        self, *, out_trade_no: str, amount: int, description: str, client: ClientKind, **extra: str
    ) -> PaymentAction:
        method = (
            self.client.api_alipay_trade_page_pay
            if client == ClientKind.DESKTOP
            else self.client.api_alipay_trade_wap_pay
        )
        query = method(
            subject=description[:256],
            out_trade_no=out_trade_no,
            total_amount=fen_to_yuan(amount),
            return_url=extra.get("return_url") or self.return_url or None,
            notify_url=self.notify_url,
        )
        return PaymentAction(kind="redirect", url=f"{self.gateway_url}?{query}")

    def query(self, out_trade_no: str) -> ProviderStatus | None:
        try:
            result = self.client.api_alipay_trade_query(out_trade_no=out_trade_no)
        except Exception as exc:  # transport errors, AliPayException, AliPayValidationError
            if "ACQ.TRADE_NOT_EXIST" in str(exc):
                return None
            raise Refused("query_failed", type(exc).__name__) from None
        if result.get("code") != "10000":
            if result.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return None
            raise Refused("provider_error", str(result.get("sub_code", result.get("code"))))
        return self._normalize(result, expected_out_trade_no=out_trade_no, check_app_id=False)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> ProviderStatus:
        try:
            data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise Refused("malformed_notification") from None
        signature = data.pop("sign", "")
        if not signature:
            raise Refused("signature_missing")
        if data.get("sign_type", "RSA2") != "RSA2":
            raise Refused("signature_type_unsupported")
        try:
            verified = self.client.verify(data, signature)
        except Exception:
            verified = False
        if not verified:
            raise Refused("signature_invalid")
        return self._normalize(data, expected_out_trade_no=None, check_app_id=True)

    def _normalize(
        self, data: dict[str, Any], *, expected_out_trade_no: str | None, check_app_id: bool
    ) -> ProviderStatus:
        if check_app_id and data.get("app_id") != self.credentials.app_id:
            raise Refused("app_id_mismatch")
        out_trade_no = str(data.get("out_trade_no", ""))
        if not out_trade_no or (expected_out_trade_no and out_trade_no != expected_out_trade_no):
            raise Refused("out_trade_no_mismatch")
        state = str(data.get("trade_status", ""))
        if state not in TRADE_STATUSES:
            raise Refused("trade_status_unknown")
        return ProviderStatus(
            out_trade_no=out_trade_no,
            status=TRADE_STATUSES[state],
            amount=yuan_to_fen(str(data.get("total_amount", ""))),
            currency="CNY",
            provider_transaction_id=str(data.get("trade_no", "")),
            app_id=self.credentials.app_id,
            raw_state=state,
            data={k: data.get(k) for k in ("gmt_payment", "notify_id", "buyer_pay_amount")},
        )

    def callback_response(self, ok: bool, message: str = "") -> CallbackAnswer:
        # Alipay stops retrying only on the exact body "success".
        return CallbackAnswer(status=200, body=b"success" if ok else b"fail", content_type="text/plain")
