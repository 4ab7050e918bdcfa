"""Online payments: starting a checkout, trusting only verified provider statements, posting once."""

import contextlib
import datetime
import json
import logging
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Required, TypedDict, Unpack

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.audit.services import new_audit_entry, record_audit
from feedesk.billing.models import Order
from feedesk.core import sql
from feedesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from feedesk.core.money import check_amount, format_money
from feedesk.core.permissions import Capability, Role, require
from feedesk.gateways.base import (
    STATUS_RANK,
    CallbackAnswer,
    Gateway,
    PaymentAction,
    ProviderStatus,
    Refused,
)
from feedesk.gateways.models import (
    ClientKind,
    GatewayConfig,
    GatewayKind,
    OnlinePayment,
    OnlinePaymentEvent,
    OnlineStatus,
    SimulatedKeys,
    SystemAccount,
)
from feedesk.gateways.registry import (
    ensure_simulated_keys,
    gateway_for,
    loaded_related,
    simulated_allowed,
    wechat_configured,
)
from feedesk.organizations.models import Organization
from feedesk.payments.models import Channel, Payment
from feedesk.payments.services import AllocationRequest, PaymentWrites, record_payment
from feedesk.people.models import Guardian, Student, StudentGuardian
from feedesk.people.selectors import family_student_ids
from feedesk.users.models import User

logger = logging.getLogger(__name__)
Event = OnlinePaymentEvent

SECRET_FIELDS = ("wechat_merchant_private_key", "wechat_apiv3_key", "alipay_app_private_key")
PLAIN_FIELDS = (
    "wechat_mchid",
    "wechat_appid",
    "wechat_merchant_serial",
    "wechat_platform_cert",
    "wechat_platform_public_key",
    "wechat_platform_public_key_id",
    "alipay_app_id",
    "alipay_public_key",
)


# -- the gateway's own staff account ---------------------------------------------------------
def gateway_system_user(*, organization: Organization) -> User:
    """The account payments confirmed by a gateway are recorded by.

    `record_payment` asks every caller for TAKE_PAYMENT, so the gateway posts as a per-school
    system user with the cashier role and access to every campus. It has no usable password,
    and the authentication backend refuses any account listed in SystemAccount, so nobody can
    log in as it; receipts and the audit trail show it as "Online payments".
    """
    account = loaded_related(organization, "gateway_system_account") or (
        SystemAccount.objects.select_related("user").filter(organization=organization).first()
    )
    if account is not None:
        return account.user
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=f"system.gateway.{organization.slug}",
                password=None,
                organization=organization,
                role=Role.CASHIER,
                display_name=_("Online payments"),
            )
            SystemAccount.objects.create(organization=organization, user=user)
            return user
    except IntegrityError:  # created concurrently
        return SystemAccount.objects.select_related("user").get(organization=organization).user


# -- configuration --------------------------------------------------------------------------
@transaction.atomic
def save_gateway_config(
    *,
    actor: User,
    active: str,
    sandbox: bool = False,
    values: Mapping[str, str] | None = None,
) -> GatewayConfig:
    """Save a school's gateway settings. A blank secret keeps the saved one; secrets are never read back."""
    require(actor, Capability.MANAGE_GATEWAYS)
    organization = Organization.objects.get(pk=actor.tenant_id)
    if active not in ("", *GatewayKind.values):
        raise ValidationFailed(_("Unknown gateway."), code="gateway_invalid")
    if active == GatewayKind.SIMULATED and not simulated_allowed():
        raise ValidationFailed(_("The simulated gateway is switched off here."), code="gateway_not_available")
    config, _created = GatewayConfig.objects.select_for_update().get_or_create(organization=organization)
    values = values or {}
    changed: list[str] = []
    for name in PLAIN_FIELDS:
        if name in values and (values[name] or "").strip() != getattr(config, name):
            setattr(config, name, (values[name] or "").strip())
            changed.append(name)
    for name in SECRET_FIELDS:
        if (values.get(name) or "").strip():
            setattr(config, name, values[name].strip())
            changed.append(name)
    config.active = active
    config.sandbox = sandbox
    config.updated_by = actor
    if active == GatewayKind.WECHAT and not wechat_configured(config):
        raise ValidationFailed(_("Fill in every WeChat Pay field first."), code="gateway_incomplete")
    if active == GatewayKind.ALIPAY and not (
        config.alipay_app_id and config.alipay_app_private_key and config.alipay_public_key
    ):
        raise ValidationFailed(_("Fill in every Alipay field first."), code="gateway_incomplete")
    if active in (GatewayKind.WECHAT, GatewayKind.ALIPAY):
        try:
            gateway_for(
                organization, active, config
            )  # loads every key: a bad paste fails here, not at checkout
        except Conflict:
            raise
        except Exception:
            raise ValidationFailed(
                _("A key could not be read. Paste it again, including its BEGIN/END lines."),
                code="gateway_key_invalid",
            ) from None
    config.save()
    if active == GatewayKind.SIMULATED:
        ensure_simulated_keys(organization=organization)
    gateway_system_user(organization=organization)
    # Names only: the audit trail says which secrets changed, never their values.
    record_audit(
        actor=actor, action="gateway.configured", target=config, data={"active": active, "changed": changed}
    )
    return config


# -- starting a checkout --------------------------------------------------------------------
def _new_out_trade_no() -> str:
    return "FD" + timezone.now().strftime("%y%m%d%H%M%S") + secrets.token_hex(7).upper()


@dataclass(frozen=True)
class OpenedPayment:
    """An online payment recorded here and not yet sent to the provider (see start_online_payment)."""

    online: OnlinePayment
    gateway: Gateway


def start_online_payment(
    *,
    student: Student,
    allocations: Sequence[AllocationRequest],
    client: str,
    guardian: Guardian | None = None,
    description: str = "",
    return_url: str = "",
    client_ip: str = "",
    payer_openid: str = "",
) -> tuple[OnlinePayment, PaymentAction]:
    """Open an online payment of the cart's orders (one student's) and ask the gateway how to pay it."""
    with transaction.atomic():
        opened = open_online_payment(
            student=student,
            allocations=allocations,
            client=client,
            guardian=guardian,
            description=description,
            return_url=return_url,
        )
    return request_online_payment(
        opened=opened, client=client, client_ip=client_ip, payer_openid=payer_openid, return_url=return_url
    )


def _config_with_keys(organization_id: int) -> GatewayConfig | None:
    """The school's gateway configuration with its school, the school's simulated keys and its
    gateway system account with that account's user (None where missing): one lean statement."""
    rows = sql.fetch(_config_statement(), [organization_id])
    if not rows:
        return None
    config, school, keys, account, user = sql.split_joined(rows[0], [m for m, _alias in _CONFIG_WITH])
    if account is not None:
        sql.cache_related(account, "user", user)
    sql.cache_related(school, "simulated_gateway_keys", keys)
    sql.cache_related(school, "gateway_system_account", account)
    sql.cache_related(config, "organization", school)
    return config


def school_with_keys(alias: str) -> str:
    """Joins for a lean statement: the school `o` of the row `alias` and its simulated keys `k`."""
    return (
        f"JOIN {Organization._meta.db_table} o ON o.id = {alias}.organization_id "
        f"LEFT JOIN {SimulatedKeys._meta.db_table} k ON k.organization_id = o.id"
    )


_CONFIG_WITH = (
    (GatewayConfig, "g"),
    (Organization, "o"),
    (SimulatedKeys, "k"),
    (SystemAccount, "sa"),
    (User, "u"),
)


@lru_cache(maxsize=1)
def _config_statement() -> str:
    table = {model: model._meta.db_table for model, _alias in _CONFIG_WITH}
    return (
        f"SELECT {sql.joined_columns(_CONFIG_WITH)} FROM {table[GatewayConfig]} g {school_with_keys('g')} "
        f"LEFT JOIN {table[SystemAccount]} sa ON sa.organization_id = o.id "
        f"LEFT JOIN {table[User]} u ON u.id = sa.user_id WHERE g.organization_id = %s"
    )


def open_online_payment(
    *,
    student: Student,
    allocations: Sequence[AllocationRequest],
    client: str,
    guardian: Guardian | None = None,
    description: str = "",
    return_url: str = "",
    organization: Organization | None = None,
    orders: Mapping[int, Order] | None = None,
    guardian_student_ids: Collection[int] | None = None,
) -> OpenedPayment:
    """Check the allocations and record the online payment (CREATED) with its audit row.

    Runs in the caller's transaction, so a checkout can freeze its cart and open its payment
    together. `orders` are the caller's own reads of the allocated orders, taken under lock
    within the same transaction (the portal's re-priced cart); without them they are read here.
    `guardian_student_ids` are the guardian's students as the caller read them for this request
    (the portal's viewer); without them the guardian's link to the student is read here.
    The provider is not called: see request_online_payment, outside any transaction.
    """
    if client not in ClientKind.values:
        raise ValidationFailed(_("Unknown device kind."), code="client_invalid")
    if guardian is not None and (
        guardian.organization_id != student.organization_id
        or not (
            student.pk in guardian_student_ids
            if guardian_student_ids is not None
            else StudentGuardian.objects.filter(student=student, guardian=guardian).exists()
        )
    ):
        raise NotFound(_("Not found."))
    if not allocations:
        raise ValidationFailed(_("The cart is empty."), code="cart_empty")
    if organization is None or organization.pk != student.organization_id:
        organization = Organization.objects.get(pk=student.organization_id)
    # The school's simulated keys and gateway system account come with its configuration.
    config = _config_with_keys(organization.pk)
    if config is None or not config.active:
        raise Conflict(_("Online payment is not set up for this school."), code="gateway_not_configured")
    school = config.organization
    gateway = gateway_for(school, config.active, config)
    if orders is None:
        orders = {
            # One checkout may pay the orders of a family's children (students sharing a guardian).
            o.pk: o
            for o in Order.objects.filter(
                pk__in=[a.order_id for a in allocations], student_id__in=family_student_ids(student)
            )
        }
    seen: set[int] = set()
    for item in allocations:
        order = orders.get(item.order_id)
        if order is None:
            raise NotFound(_("Order not found for this student."), code="order_not_found")
        if item.order_id in seen:
            raise ValidationFailed(_("An order appears twice in the cart."), code="allocation_duplicate")
        seen.add(item.order_id)
        check_amount(item.amount)
        if not order.is_payable or not order.online_payable:
            raise Conflict(
                _("Order #%(number)s cannot be paid online.") % {"number": order.number},
                code="order_not_payable_online",
            )
        if item.amount > order.balance:
            raise ValidationFailed(
                _("%(amount)s is more than the %(balance)s still owed on order #%(number)s.")
                % {
                    "amount": format_money(item.amount),
                    "balance": format_money(order.balance),
                    "number": order.number,
                },
                code="allocation_exceeds_balance",
            )
    amount = sum(a.amount for a in allocations)
    text = description or (
        f"{organization.name} " + " ".join(f"#{orders[a.order_id].number}" for a in allocations)
    )
    gateway_system_user(organization=school)
    online: OnlinePayment = sql.new(
        OnlinePayment,
        {
            "organization_id": organization.pk,
            "student_id": student.pk,
            "guardian_id": guardian.pk if guardian is not None else None,
            "out_trade_no": _new_out_trade_no(),
            "amount": amount,
            "currency": organization.currency,
            "description": text[:127],
            "requested_allocations": [{"order_id": a.order_id, "amount": a.amount} for a in allocations],
            "gateway": gateway.kind,
            "client": client,
            "return_url": return_url[:500],
        },
        related={"organization": organization, "student": student, "guardian": guardian},
    )
    sql.insert_instance(online)
    record_audit(
        actor=guardian.user if guardian is not None else None,
        action="online_payment.started",
        target=online,
        amount=amount,
        data={"gateway": gateway.kind, "orders": [a.order_id for a in allocations]},
    )
    return OpenedPayment(online, gateway)


def request_online_payment(
    *, opened: OpenedPayment, client: str, client_ip: str = "", payer_openid: str = "", return_url: str = ""
) -> tuple[OnlinePayment, PaymentAction]:
    """Ask the provider how to pay an opened payment; it is then pending, or failed when refused.

    Call it outside any transaction: a slow network must not hold locks.
    """
    online, gateway = opened.online, opened.gateway
    try:
        action = gateway.create(
            out_trade_no=online.out_trade_no,
            amount=online.amount,
            description=online.description,
            client=ClientKind(client),
            client_ip=client_ip,
            payer_openid=payer_openid,
            return_url=return_url,
        )
    except Refused as refused:
        _log(online, source=Event.Source.CREATE, outcome=Event.Outcome.REFUSED, reason=refused.reason)
        _apply(
            online.pk,
            ProviderStatus(online.out_trade_no, OnlineStatus.FAILED, online.amount),
            source=Event.Source.CREATE,
        )
        raise Conflict(
            _("The payment service did not answer. Please try again later."), code="gateway_unavailable"
        ) from None
    pending = ProviderStatus(online.out_trade_no, OnlineStatus.PENDING, online.amount)
    moved = _created_to_pending(online, pending) or _apply(online.pk, pending, source=Event.Source.CREATE)
    return moved, action


def _created_to_pending(online: OnlinePayment, status: ProviderStatus) -> OnlinePayment | None:
    """The provider took a payment this request just opened: created → pending, logged and
    audited as `_apply` would, by one conditional UPDATE instead of a locked read. None when the
    payment is no longer created (a callback or query came first): `_apply` then decides."""
    with transaction.atomic():
        now = timezone.now()
        values = sql.prepared_row(OnlinePayment, ("status", "updated_at"), [OnlineStatus.PENDING, now])
        moved = sql.execute(_pending_statement(), [*values, online.pk])
        if not moved:
            return None
        before, online.status, online.updated_at = online.status, OnlineStatus.PENDING, now
        _record_applied(online, status, source=Event.Source.CREATE, before=before)
    return online


@lru_cache(maxsize=1)
def _pending_statement() -> str:
    return (
        f"UPDATE {OnlinePayment._meta.db_table} SET status = %s, updated_at = %s "
        f"WHERE id = %s AND status = '{OnlineStatus.CREATED.value}'"
    )


# -- applying what the provider says --------------------------------------------------------
class _EventFields(TypedDict, total=False):
    source: Required[str]
    outcome: Required[str]
    reason: str
    status: ProviderStatus | None
    organization_id: int | None
    gateway: str
    verified: bool
    before: str
    after: str


def _log(online: OnlinePayment | None, **fields: Unpack[_EventFields]) -> OnlinePaymentEvent:
    event = _new_event(online, **fields)
    sql.insert_instance(event)  # every status a provider reports writes one
    return event


def _new_event(
    online: OnlinePayment | None,
    *,
    source: str,
    outcome: str,
    reason: str = "",
    status: ProviderStatus | None = None,
    organization_id: int | None = None,
    gateway: str = "",
    verified: bool = False,
    before: str = "",
    after: str = "",
) -> OnlinePaymentEvent:
    """The event row `_log` writes, unsaved."""
    event: OnlinePaymentEvent = sql.new(
        OnlinePaymentEvent,
        {
            "organization_id": online.organization_id if online else organization_id,
            "online_payment_id": online.pk if online else None,
            "gateway": online.gateway if online else gateway,
            "source": source,
            "verified": verified,
            "outcome": outcome,
            "reason": reason[:64],
            "out_trade_no": (status.out_trade_no if status else (online.out_trade_no if online else ""))[:64],
            "reported_status": status.status if status else "",
            "amount": status.amount if status else None,
            "provider_transaction_id": status.provider_transaction_id[:64] if status else "",
            "status_before": before,
            "status_after": after,
            "data": {"raw_state": status.raw_state, **status.data} if status else {},
        },
        related={"online_payment": online},
    )
    return event


def _post_payment(online: OnlinePayment, status: ProviderStatus, *, then: PaymentWrites) -> Payment:
    actor = gateway_system_user(organization=online.organization)
    received = timezone.now()
    success_time = status.data.get("success_time")
    if isinstance(success_time, str) and success_time:
        with contextlib.suppress(ValueError):
            received = min(received, datetime.datetime.fromisoformat(success_time))
    # The requested allocations are capped at each order's balance under record_payment's lock:
    # an order paid at the desk or cancelled since checkout takes less or nothing, and the rest of
    # the money becomes the student's credit.
    return record_payment(
        actor=actor,
        student=online.student,
        amount=online.amount,
        channel=Channel.ONLINE,
        reference=status.provider_transaction_id or online.out_trade_no,
        received_at=received,
        allocations=[
            AllocationRequest(order_id=int(r["order_id"]), amount=int(r["amount"]))
            for r in online.requested_allocations
        ],
        idempotency_key=f"online:{online.out_trade_no}",
        cap_allocations=True,
        # Every posting of this key runs under the online payment's lock (_apply).
        key_held_by_caller=True,
        then=then,
    )


# What applying a provider status needs, read with the online payment's lock in one statement:
# the school, its gateway system account and that account's user (who records the payment),
# and the student paid for.
_LOCKED_WITH = (
    (OnlinePayment, "op"),
    (Organization, "o"),
    (SystemAccount, "sa"),
    (User, "u"),
    (Student, "st"),
)


@lru_cache(maxsize=8)
def _lock_online_statement(vendor: str, where: str) -> str:
    table = {model: model._meta.db_table for model, _alias in _LOCKED_WITH}
    selected = sql.joined_columns(_LOCKED_WITH)
    lock = sql.lock_clause()
    # Lock only the payment's row: FOR UPDATE on the joined organization would block every
    # insert that references it (a desk payment holding an order lock) and deadlock. The last
    # column says whether the system user is limited to campuses (normally it is not).
    return (
        f"SELECT {selected}, EXISTS (SELECT 1 FROM {User.campuses.through._meta.db_table} uc "
        "WHERE uc.user_id = u.id) "
        f"FROM {table[OnlinePayment]} op JOIN {table[Organization]} o ON o.id = op.organization_id "
        f"JOIN {table[Student]} st ON st.id = op.student_id "
        f"LEFT JOIN {table[SystemAccount]} sa ON sa.organization_id = o.id "
        f"LEFT JOIN {table[User]} u ON u.id = sa.user_id "
        f"WHERE {where}" + (f"{lock} OF op" if lock else "")
    )


def _locked_online_payment(
    *, pk: int | None = None, organization_id: int | None = None, out_trade_no: str = ""
) -> OnlinePayment | None:
    """The online payment with `pk`, or the school's with `out_trade_no`, locked, with its
    school, gateway system user (its campus limitation known) and student."""
    params: list[object]
    if pk is not None:
        where, params = "op.id = %s", [pk]
    else:
        where, params = "op.organization_id = %s AND op.out_trade_no = %s", [organization_id, out_trade_no]
    rows = sql.fetch(_lock_online_statement(connection.vendor, where), params)
    if not rows:
        return None
    row = rows[0]
    parts = sql.split_joined(row, [model for model, _alias in _LOCKED_WITH])
    online, organization, account, user, student = parts
    if account is not None and user is not None:
        if not row[-1]:
            user._campus_ids = None  # not limited to campuses: record_payment's check reads nothing
        sql.cache_related(account, "user", user)
    sql.cache_related(organization, "gateway_system_account", account)
    sql.cache_related(online, "organization", organization)
    sql.cache_related(online, "student", student)
    return online


def _apply(online_id: int, status: ProviderStatus, *, source: str) -> OnlinePayment:
    """Move an online payment by a verified provider status. Monotonic, idempotent, posts once."""
    with transaction.atomic():
        online = _locked_online_payment(pk=online_id)
        if online is None:
            raise OnlinePayment.DoesNotExist(f"online payment {online_id}")
        return _apply_locked(online, status, source=source)


def _apply_locked(online: OnlinePayment, status: ProviderStatus, *, source: str) -> OnlinePayment:
    """_apply, in the caller's transaction, to an online payment it has locked.

    On a DomainError (the posting failed) `online` is left as it was read.
    """
    before = online.status
    new = status.status
    kept: str = ""
    if new == before:
        kept = Event.Outcome.DUPLICATE if new == OnlineStatus.SUCCEEDED else Event.Outcome.NO_CHANGE
    elif STATUS_RANK[OnlineStatus(new)] <= STATUS_RANK[OnlineStatus(before)]:
        kept = Event.Outcome.IGNORED  # a late "pending" or "failed" never undoes a later state
    if kept:
        _log(online, source=source, outcome=kept, status=status, verified=True, before=before, after=before)
        return online
    now = timezone.now()
    changes: dict[str, Any] = {"status": new, "updated_at": now}
    if status.provider_transaction_id:
        changes["provider_transaction_id"] = status.provider_transaction_id
    if new in (OnlineStatus.SUCCEEDED, OnlineStatus.FAILED, OnlineStatus.CLOSED):
        changes["completed_at"] = now

    def applied(payment: Payment | None) -> list[sql.Statement]:
        """The online payment's new state, its event and audit row, as statements."""
        values = {**changes, "payment_id": payment.pk} if payment is not None else changes
        update = sql.update_by_pk_statement(
            OnlinePayment, [online.pk], assign={name: {online.pk: value} for name, value in values.items()}
        )
        assert update is not None
        actor = payment.recorded_by if payment is not None else None
        return [
            update,
            *_applied_writes(online, status, source=source, before=before, after=new, actor=actor),
        ]

    payment = None
    if new == OnlineStatus.SUCCEEDED:
        # The new state, event and audit row are written with the posting (on PostgreSQL in its
        # statement), while the school's chain head is held for as short a time as it can be.
        with_posting: list[Payment] = []

        def written_with(payment: Payment) -> list[sql.Statement]:
            with_posting.append(payment)
            return applied(payment)

        payment = _post_payment(online, status, then=written_with)
        if not with_posting:  # an earlier payment with this key was returned: nothing went with it
            sql.execute_together(applied(payment))
    else:
        sql.execute_together(applied(None))
    for name, value in changes.items():
        setattr(online, name, value)
    if payment is not None:
        online.payment = payment
    return online


def _record_applied(online: OnlinePayment, status: ProviderStatus, *, source: str, before: str) -> None:
    """The event and audit row of a status just applied to `online` (now at its new status)."""
    actor = online.payment.recorded_by if online.payment else None
    sql.execute_together(
        _applied_writes(online, status, source=source, before=before, after=online.status, actor=actor)
    )


def _applied_writes(
    online: OnlinePayment, status: ProviderStatus, *, source: str, before: str, after: str, actor: User | None
) -> list[sql.Statement]:
    """The event and audit row of a status applied to `online`, moving it from `before` to
    `after`, as statements."""
    event = _new_event(
        online,
        source=source,
        outcome=Event.Outcome.APPLIED,
        status=status,
        verified=True,
        before=before,
        after=after,
    )
    audit = new_audit_entry(
        actor=actor,
        action=f"online_payment.{after}",
        target=online,
        amount=online.amount if after == OnlineStatus.SUCCEEDED else None,
        data={
            "source": source,
            "provider_transaction_id": status.provider_transaction_id or online.provider_transaction_id,
        },
    )
    return [sql.insert_instances_statement([event]), sql.insert_instances_statement([audit])]


def _check_against_record(online: OnlinePayment, status: ProviderStatus) -> None:
    mismatch = _mismatch_with_record(online, status)
    if mismatch:
        raise Refused(mismatch)


def _mismatch_with_record(online: OnlinePayment, status: ProviderStatus) -> str:
    """Why a verified statement does not describe this payment ("" when it does)."""
    if status.amount != online.amount:
        return "amount_mismatch"
    if status.currency != online.currency:
        return "currency_mismatch"
    return ""


# -- callbacks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CallbackResult:
    answer: CallbackAnswer
    accepted: bool
    reason: str = ""


def _wechat_callback_gateway(organization: Organization, headers: Mapping[str, str]) -> str:
    serial = {k.lower(): v for k, v in headers.items()}.get("wechatpay-serial", "")
    if simulated_allowed():
        keys = loaded_related(organization, "simulated_gateway_keys") or (
            SimulatedKeys.objects.filter(organization=organization).first()
        )
        if keys is not None and serial == keys.platform_key_id:
            return GatewayKind.SIMULATED
    return GatewayKind.WECHAT


def handle_callback(
    *, provider: str, org_slug: str, headers: Mapping[str, str], body: bytes
) -> CallbackResult:
    """Verify a provider's notification for one school and apply it; the answer is what the provider expects.

    Anything that fails verification or does not match the school's own online payment is
    refused, logged, and posts nothing.
    """
    organization = Organization.objects.filter(slug=org_slug).select_related("simulated_gateway_keys").first()
    if organization is None:
        logger.warning("%s callback for an unknown school: %s", provider, org_slug)
    return handle_school_callback(provider=provider, organization=organization, headers=headers, body=body)


def handle_school_callback(
    *, provider: str, organization: Organization | None, headers: Mapping[str, str], body: bytes
) -> CallbackResult:
    """handle_callback for the school the callback URL names, already read (None: no such school)."""
    org_slug = organization.slug if organization is not None else "?"
    kind = GatewayKind.ALIPAY if provider == "alipay" else GatewayKind.WECHAT
    if organization is not None and kind == GatewayKind.WECHAT:
        kind = GatewayKind(_wechat_callback_gateway(organization, headers))
    gateway = None
    try:
        if organization is None:
            raise Refused("unknown_school")
        try:
            gateway = gateway_for(organization, kind)
        except Conflict:
            raise Refused("gateway_not_configured") from None
        status = gateway.parse_callback(dict(headers), body)
        online, mismatch = None, ""
        try:
            with transaction.atomic():
                # Read under its lock and checked there: an online payment's gateway, amount
                # and currency never change once recorded.
                online = _locked_online_payment(
                    organization_id=organization.pk, out_trade_no=status.out_trade_no
                )
                if online is None:
                    raise Refused("unknown_out_trade_no")
                if online.gateway != gateway.kind:
                    raise Refused("gateway_mismatch")
                mismatch = _mismatch_with_record(online, status)
                if mismatch:
                    _log(
                        online,
                        source=Event.Source.CALLBACK,
                        outcome=Event.Outcome.REFUSED,
                        reason=mismatch,
                        status=status,
                        verified=True,
                        before=online.status,
                        after=online.status,
                    )
                else:
                    _apply_locked(online, status, source=Event.Source.CALLBACK)
            if mismatch:
                raise Refused(mismatch)
        except DomainError as problem:
            # Verified but could not be posted: answer failure so the provider retries later.
            assert online is not None
            _log(
                online,
                source=Event.Source.CALLBACK,
                outcome=Event.Outcome.REFUSED,
                reason=problem.code,
                status=status,
                verified=True,
                before=online.status,
                after=online.status,
            )
            logger.error(
                "verified %s callback for %s not posted: %s", kind, online.out_trade_no, problem.code
            )
            failed = gateway.callback_response(False, problem.code)
            return CallbackResult(
                answer=CallbackAnswer(500, failed.body, failed.content_type),
                accepted=False,
                reason=problem.code,
            )
    except Refused as refused:
        if refused.reason not in ("amount_mismatch", "currency_mismatch"):
            _log(
                None,
                source=Event.Source.CALLBACK,
                outcome=Event.Outcome.REFUSED,
                reason=refused.reason,
                organization_id=organization.pk if organization else None,
                gateway=kind,
            )
        logger.warning("refused %s callback for %s: %s", kind, org_slug, refused.reason)
        answer = _refusal_answer(gateway, kind, refused.reason)
        return CallbackResult(answer=answer, accepted=False, reason=refused.reason)
    return CallbackResult(answer=gateway.callback_response(True), accepted=True)


def _refusal_answer(gateway: object, kind: str, reason: str) -> CallbackAnswer:
    if gateway is not None:
        return gateway.callback_response(False, reason)  # type: ignore[attr-defined]
    if kind == GatewayKind.ALIPAY:
        return CallbackAnswer(status=200, body=b"fail", content_type="text/plain")
    body = json.dumps({"code": "FAIL", "message": reason}).encode()
    return CallbackAnswer(
        status=404 if reason == "unknown_school" else 400, body=body, content_type="application/json"
    )


# -- queries --------------------------------------------------------------------------------
def refresh_online_payment(*, online_payment: OnlinePayment) -> OnlinePayment:
    """Ask the provider where a payment stands and apply the verified answer.

    The portal calls this when a payer comes back from the provider, before saying anything
    about the payment: a missing callback must not read as "not paid".
    """
    online = OnlinePayment.objects.get(pk=online_payment.pk)
    if online.status not in (OnlineStatus.CREATED, OnlineStatus.PENDING):
        return online
    organization = Organization.objects.get(pk=online.organization_id)
    try:
        gateway = gateway_for(organization, online.gateway)
        status = gateway.query(online.out_trade_no)  # network: outside any transaction
        if status is None:
            _log(
                online,
                source=Event.Source.QUERY,
                outcome=Event.Outcome.NO_CHANGE,
                reason="not_found",
                verified=True,
                before=online.status,
                after=online.status,
            )
            return online
        _check_against_record(online, status)
    except (Refused, Conflict) as problem:
        reason = problem.reason if isinstance(problem, Refused) else problem.code
        _log(
            online,
            source=Event.Source.QUERY,
            outcome=Event.Outcome.REFUSED,
            reason=reason,
            before=online.status,
            after=online.status,
        )
        logger.warning("query for %s refused: %s", online.out_trade_no, reason)
        return online
    return _apply(online.pk, status, source=Event.Source.QUERY)


@dataclass(frozen=True)
class PollReport:
    checked: int
    succeeded: int
    still_pending: int


def poll_pending_payments(*, older_than_minutes: int = 5, limit: int = 500) -> PollReport:
    """Query every created or pending payment older than N minutes (finds lost callbacks). Safe to re-run."""
    cutoff = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    ids = list(
        OnlinePayment.objects.filter(
            status__in=[OnlineStatus.CREATED, OnlineStatus.PENDING], created_at__lte=cutoff
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    succeeded = pending = 0
    for online in OnlinePayment.objects.filter(pk__in=ids).order_by("created_at"):
        result = refresh_online_payment(online_payment=online)
        if result.status == OnlineStatus.SUCCEEDED:
            succeeded += 1
        elif result.status in (OnlineStatus.CREATED, OnlineStatus.PENDING):
            pending += 1
    return PollReport(checked=len(ids), succeeded=succeeded, still_pending=pending)
