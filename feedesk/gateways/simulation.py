"""The simulated provider's side in the running app: the pay page's outcome and its v3 API."""

import re
from collections.abc import Mapping
from functools import lru_cache

from feedesk.core import sql
from feedesk.gateways import services
from feedesk.gateways.models import GatewayKind, OnlinePayment, SimulatedKeys
from feedesk.gateways.registry import SimulatedGateway, gateway_for, sim_platform_keys
from feedesk.gateways.simulated import WAITING, DatabaseStore, SimPlatform, mark_paid, new_transaction
from feedesk.organizations.models import Organization


def pay_page_payment(out_trade_no: str) -> OnlinePayment | None:
    """A simulated online payment by its number, with its school and the school's simulated keys
    (the pay page's outcome signs and verifies with them): one lean statement."""
    rows = sql.fetch(_pay_page_statement(), [out_trade_no, GatewayKind.SIMULATED])
    if not rows:
        return None
    online, school, keys = sql.split_joined(rows[0], [model for model, _alias in _PAY_PAGE_PARTS])
    sql.cache_related(school, "simulated_gateway_keys", keys)
    sql.cache_related(online, "organization", school)
    return online


_PAY_PAGE_PARTS = ((OnlinePayment, "op"), (Organization, "o"), (SimulatedKeys, "k"))


@lru_cache(maxsize=1)
def _pay_page_statement() -> str:
    return (
        f"SELECT {sql.joined_columns(_PAY_PAGE_PARTS)} FROM {OnlinePayment._meta.db_table} op "
        f"{services.school_with_keys('op')} WHERE op.out_trade_no = %s AND op.gateway = %s"
    )


def complete(*, online: OnlinePayment, paid: bool) -> services.CallbackResult | None:
    """The payer pressed Pay or Fail on the simulated pay page.

    Pay marks the provider's transaction paid and delivers a notification signed with the
    simulated platform key and AES-256-GCM encrypted, through the same handler as the school's
    WeChat callback URL, so the real verification runs. Fail records a payment error and, like
    WeChat Pay, sends nothing: the return page's query finds it.
    """
    organization = online.organization
    gateway = gateway_for(organization, GatewayKind.SIMULATED)
    assert isinstance(gateway, SimulatedGateway)
    store = gateway.platform.store
    # The usual case, a transaction waiting to be paid, in one statement.
    waiting = store.pay_waiting(online.out_trade_no) if paid and isinstance(store, DatabaseStore) else None
    if waiting is None:
        txn = store.get(online.out_trade_no) or new_transaction(
            out_trade_no=online.out_trade_no, amount=online.amount, description=online.description
        )
        if txn["trade_state"] not in WAITING:
            return None  # already decided at the provider
        if not paid:
            txn["trade_state"] = "PAYERROR"
            store.save(txn)
            return None
        store.save(mark_paid(txn))
    else:
        txn = waiting
    headers, body = gateway.platform.notification(txn)
    # The school whose callback URL the notification goes to: the payment's own.
    return services.handle_school_callback(
        provider="wechat", organization=organization, headers=headers, body=body
    )


def handle_api(
    *, method: str, path: str, headers: Mapping[str, str], body: str
) -> tuple[int, dict[str, str], bytes]:
    authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    match = re.search(r'mchid="([^"]*)"', authorization)
    keys = SimulatedKeys.objects.filter(mchid=match.group(1)).first() if match else None
    if keys is None:
        return 401, {"Content-Type": "application/json"}, b'{"code": "SIGN_ERROR", "message": "mchid"}'
    platform = SimPlatform(sim_platform_keys(keys), DatabaseStore(keys.organization_id))
    return platform.handle(method, path, headers, body)
