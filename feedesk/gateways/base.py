"""The one interface every gateway speaks, and the normalized values it returns."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from feedesk.gateways.models import ClientKind, OnlineStatus


@dataclass(frozen=True)
class PaymentAction:
    """What the payer's page needs to pay: a QR code payload, a redirect, or JSAPI parameters."""

    kind: str  # "qr_code", "redirect" or "jsapi"
    url: str = ""
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderStatus:
    """A verified statement from the provider about one transaction."""

    out_trade_no: str
    status: str  # an OnlineStatus value
    amount: int | None
    currency: str = "CNY"
    provider_transaction_id: str = ""
    merchant_id: str = ""
    app_id: str = ""
    raw_state: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class Refused(Exception):
    """A callback or query answer that failed verification. Nothing is posted."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    body: bytes
    content_type: str


class Gateway(Protocol):
    kind: str

    def create(
        self, *, out_trade_no: str, amount: int, description: str, client: ClientKind, **extra: str
    ) -> PaymentAction: ...

    def query(self, out_trade_no: str) -> ProviderStatus | None:
        """The provider's view of the transaction, verified; None when it does not know it."""
        ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> ProviderStatus:
        """Verify a notification and normalize it; raise Refused when it cannot be trusted."""
        ...

    def callback_response(self, ok: bool, message: str = "") -> CallbackAnswer: ...


STATUS_RANK = {
    OnlineStatus.CREATED: 0,
    OnlineStatus.PENDING: 1,
    OnlineStatus.FAILED: 2,
    OnlineStatus.CLOSED: 2,
    OnlineStatus.SUCCEEDED: 3,
}


def yuan_to_fen(text: str) -> int:
    """Exact conversion of a provider's "123.45" amount; anything else is refused, never rounded."""
    import re

    if not re.fullmatch(r"\d{1,11}(\.\d{1,2})?", text or ""):
        raise Refused("amount_malformed", f"malformed amount {text!r}")
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def fen_to_yuan(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"
