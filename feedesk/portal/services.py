"""Portal writes: web options, invitations and codes, the cart and its one-payment checkout."""

import datetime
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from feedesk.audit.services import record_audit
from feedesk.billing.models import Order
from feedesk.core import sql
from feedesk.core.errors import Conflict, NotFound, ValidationFailed
from feedesk.core.money import check_amount, format_money
from feedesk.core.permissions import Capability, ensure_same_organization, require
from feedesk.gateways.models import OnlinePayment, OnlineStatus
from feedesk.organizations.models import Organization
from feedesk.payments.services import AllocationRequest
from feedesk.people.models import Guardian, Student
from feedesk.portal.models import AccessCode, Cart, CartItem, PortalSettings
from feedesk.portal.notify import deliver_code
from feedesk.portal.selectors import (
    PortalViewer,
    active_cart,
    form_pk,
    payable_orders,
    portal_settings,
    viewer_settings,
)
from feedesk.users.models import User

INVITE_VALID = datetime.timedelta(days=7)
RESET_VALID = datetime.timedelta(minutes=15)
RESEND_AFTER = datetime.timedelta(seconds=60)
# A checkout whose gateway call never came back leaves a frozen cart without a trade number.
STALE_FREEZE = datetime.timedelta(minutes=2)


def clean_phone(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit() or ch == "+")


# -- web options ---------------------------------------------------------------------------------
@transaction.atomic
def update_portal_settings(*, actor: User, carts_enabled: bool, allow_partial: bool) -> PortalSettings:
    """Web options → Carts & Checkout: whether payers may pay online, and whether in part."""
    require(actor, Capability.MANAGE_PORTAL)
    settings = portal_settings(actor.tenant_id)
    settings = PortalSettings.objects.select_for_update().get(pk=settings.pk)
    settings.carts_enabled = carts_enabled
    settings.allow_partial = allow_partial
    settings.updated_by = actor
    settings.save()
    record_audit(
        actor=actor,
        action="portal.settings_updated",
        target=settings,
        data={"carts_enabled": carts_enabled, "allow_partial": allow_partial},
    )
    return settings


# -- accounts and codes --------------------------------------------------------------------------
def _hash(user_id: int, code: str) -> str:
    return salted_hmac("feedesk.portal.code", f"{user_id}:{code}").hexdigest()


def _issue_code(*, user: User, organization_id: int, purpose: str) -> tuple[str, datetime.datetime]:
    now = timezone.now()
    AccessCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)  # one live code at a time
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = now + (INVITE_VALID if purpose == AccessCode.Purpose.INVITE else RESET_VALID)
    AccessCode.objects.create(
        organization_id=organization_id,
        user=user,
        purpose=purpose,
        code_hash=_hash(user.pk, code),
        expires_at=expires,
    )
    return code, expires


@dataclass(frozen=True)
class Invitation:
    user: User
    phone: str
    code: str
    expires_at: datetime.datetime


def _portal_user(organization: Organization, username: str) -> User:
    user = User(username=username, organization=organization, role="")
    user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def invite_guardian(*, actor: User, guardian: Guardian) -> Invitation:
    """Create the guardian's portal login (or keep it) and a one-time code to set its password.

    Staff hand the code over (or it is texted); the guardian signs in with phone and password.
    """
    require(actor, Capability.MANAGE_STUDENTS)
    ensure_same_organization(actor, guardian)
    guardian = Guardian.objects.select_for_update().select_related("organization").get(pk=guardian.pk)
    if guardian.user_id is None:
        guardian.user = _portal_user(guardian.organization, f"portal.g{guardian.pk}")
        guardian.save(update_fields=["user"])
    assert guardian.user is not None
    code, expires = _issue_code(
        user=guardian.user, organization_id=guardian.organization_id, purpose=AccessCode.Purpose.INVITE
    )
    record_audit(
        actor=actor, action="portal.guardian_invited", target=guardian, data={"user": guardian.user_id}
    )
    return Invitation(guardian.user, guardian.phone, code, expires)


@transaction.atomic
def invite_student(*, actor: User, student: Student) -> Invitation:
    """A student's own login (older students): it sees only that student."""
    require(actor, Capability.MANAGE_STUDENTS, campus_id=student.campus_id)
    ensure_same_organization(actor, student)
    student = Student.objects.select_for_update().select_related("organization").get(pk=student.pk)
    if not student.phone:
        raise ValidationFailed(
            _("Enter the student's phone number first: it is their login."), code="phone_required"
        )
    if student.user_id is None:
        student.user = _portal_user(student.organization, f"portal.s{student.pk}")
        student.save(update_fields=["user"])
    assert student.user is not None
    code, expires = _issue_code(
        user=student.user, organization_id=student.organization_id, purpose=AccessCode.Purpose.INVITE
    )
    record_audit(actor=actor, action="portal.student_invited", target=student, data={"user": student.user_id})
    return Invitation(student.user, student.phone, code, expires)


@dataclass(frozen=True)
class PortalAccount:
    user: User
    organization: Organization
    phone: str
    name: str


def portal_accounts(phone: str) -> list[PortalAccount]:
    """Every active portal login using this phone, across schools."""
    phone = clean_phone(phone)
    if not phone:
        return []
    found: list[PortalAccount] = []
    for g in Guardian.objects.filter(phone=phone, user__isnull=False, user__is_active=True).select_related(
        "user", "organization"
    ):
        assert g.user is not None
        found.append(PortalAccount(g.user, g.organization, g.phone, g.name))
    for s in Student.objects.filter(
        phone=phone, user__isnull=False, user__is_active=True, is_active=True
    ).select_related("user", "organization"):
        assert s.user is not None
        found.append(PortalAccount(s.user, s.organization, s.phone, s.name))
    return sorted(found, key=lambda a: (a.organization.name, a.user.pk))


def authenticate_portal(*, phone: str, password: str) -> list[PortalAccount]:
    """The portal logins of this phone whose password matches (one per school, usually one)."""
    accounts = portal_accounts(phone)
    if not accounts:
        User().set_password(password)  # same work as a real check: no timing hint that the phone is unknown
        return []
    return [a for a in accounts if a.user.check_password(password)]


@dataclass(frozen=True)
class CodeRequest:
    """Codes sent for a phone. `on_screen` holds them only where the demo shows codes instead of texting."""

    on_screen: list[tuple[str, str]] = field(default_factory=list)  # (school, code)


def request_reset_code(*, phone: str) -> CodeRequest:
    """Send a reset code to every portal login of this phone. Says nothing about unknown phones."""
    on_screen: list[tuple[str, str]] = []
    now = timezone.now()
    for account in portal_accounts(phone):
        with transaction.atomic():
            recent = AccessCode.objects.filter(
                user=account.user, used_at__isnull=True, created_at__gt=now - RESEND_AFTER
            ).exists()
            if recent:
                continue
            code, _expires = _issue_code(
                user=account.user, organization_id=account.organization.pk, purpose=AccessCode.Purpose.RESET
            )
            record_audit(actor=None, action="portal.reset_code_sent", target=account.user, data={})
            # Inside the transaction: a code that could not be delivered is not kept.
            if deliver_code(
                phone=account.phone, code=code, purpose="reset", school=account.organization.name
            ):
                on_screen.append((account.organization.name, code))
    return CodeRequest(on_screen=on_screen)


def set_password_with_code(*, phone: str, code: str, new_password: str) -> User:
    """Use an invitation or reset code: the account it belongs to gets the new password.

    Every wrong try counts against each live code of the phone; after five a code is dead.
    """
    code = code.strip()
    refused = ValidationFailed(
        _("That code is wrong or has expired. Ask for a new one."), code="code_invalid"
    )
    accounts = {a.user.pk: a for a in portal_accounts(phone)}
    if not accounts or not code.isdigit():
        raise refused
    matched: AccessCode | None = None
    with transaction.atomic():
        live = list(
            AccessCode.objects.select_for_update()
            .filter(
                user_id__in=list(accounts),
                used_at__isnull=True,
                expires_at__gt=timezone.now(),
                attempts__lt=AccessCode.MAX_ATTEMPTS,
            )
            .order_by("pk")
        )
        for candidate in live:
            if constant_time_compare(candidate.code_hash, _hash(candidate.user_id, code)):
                matched = candidate
                break
        if matched is None:
            for candidate in live:
                AccessCode.objects.filter(pk=candidate.pk).update(attempts=candidate.attempts + 1)
    if matched is None:
        raise refused  # after the transaction, so the counted attempts stay counted
    user = accounts[matched.user_id].user
    try:
        validate_password(new_password, user)
    except ValidationError as problem:
        raise ValidationFailed(" ".join(problem.messages), code="password_invalid") from None
    with transaction.atomic():
        updated = AccessCode.objects.filter(pk=matched.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not updated:
            raise refused
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record_audit(actor=user, action=f"portal.password_set.{matched.purpose}", target=user, data={})
    return user


# -- the cart ------------------------------------------------------------------------------------
def _require_payments_on(viewer: PortalViewer) -> PortalSettings:
    settings = viewer_settings(viewer)
    if not settings.carts_enabled:
        raise Conflict(_("This school does not take payments in the portal."), code="portal_payments_off")
    return settings


def _locked_cart(viewer: PortalViewer) -> Cart:
    """The payer's cart that is not paid yet (there is at most one), locked; created when none."""
    rows = sql.fetch(
        _lock_cart_statement(connection.vendor), [viewer.user.pk, viewer.organization.pk, Cart.Status.PAID]
    )
    if rows:
        cart: Cart = sql.read(Cart, sql.concrete_names(Cart), rows[0])
        return cart
    cart = sql.new(Cart, {"organization_id": viewer.organization.pk, "owner_id": viewer.user.pk})
    sql.insert_instance(cart)
    return cart


@lru_cache(maxsize=4)
def _lock_cart_statement(vendor: str) -> str:
    return (
        f"SELECT {sql.columns(Cart, sql.concrete_names(Cart), 'c')} FROM {Cart._meta.db_table} c "
        "WHERE c.owner_id = %s AND c.organization_id = %s AND c.status <> %s" + sql.lock_clause()
    )


def _refuse_if_frozen(cart: Cart) -> None:
    if cart.status == Cart.Status.FROZEN:
        raise Conflict(
            _("Your cart is waiting for a payment to finish; it cannot change until then."),
            code="cart_frozen",
        )


def _payable_order(viewer: PortalViewer, order_id: int | str) -> Order:
    pk = form_pk(order_id)
    found = payable_orders(viewer, order_ids=[pk]) if pk is not None else []
    if not found:
        raise NotFound(_("Not found."))
    return found[0]


def _checked_amount(settings: PortalSettings, order: Order, amount: int | None) -> int | None:
    if amount is None or amount == order.balance:
        return None
    if not settings.allow_partial:
        raise ValidationFailed(_("This school takes whole balances only."), code="partial_not_allowed")
    check_amount(amount)
    if amount > order.balance:
        raise ValidationFailed(
            _("%(amount)s is more than the %(balance)s still owed on order #%(number)s.")
            % {
                "amount": format_money(amount),
                "balance": format_money(order.balance),
                "number": order.number,
            },
            code="amount_exceeds_balance",
        )
    return amount


@transaction.atomic
def add_to_cart(*, viewer: PortalViewer, order_id: int | str, amount: int | None = None) -> CartItem:
    """Put an order's balance (or, where allowed, part of it) in the payer's cart."""
    settings = _require_payments_on(viewer)
    order = _payable_order(viewer, order_id)
    cart = _locked_cart(viewer)
    _refuse_if_frozen(cart)
    # One statement: the new item, or the order's item already in the cart with its new amount.
    # The cart row is locked, so nobody else changes its items meanwhile.
    values = {
        "cart_id": cart.pk,
        "order_id": order.pk,
        "amount": _checked_amount(settings, order, amount),
        "checkout_amount": None,
        "added_at": timezone.now(),
    }
    item: CartItem = sql.new(CartItem, values, related={"cart": cart, "order": order})
    row = sql.prepared_row(CartItem, _ITEM_NAMES, [values[name] for name in _ITEM_NAMES])
    [(item.pk,)] = sql.fetch(_add_item_statement(connection.vendor), row)
    item._state.adding = False
    return item


_ITEM_NAMES = ("cart_id", "order_id", "amount", "checkout_amount", "added_at")


@lru_cache(maxsize=4)
def _add_item_statement(vendor: str) -> str:
    columns = ", ".join(name for name in _ITEM_NAMES)  # the attnames are the columns
    return (
        f"INSERT INTO {CartItem._meta.db_table} ({columns}) VALUES ({sql.placeholders(len(_ITEM_NAMES))}) "
        "ON CONFLICT (cart_id, order_id) DO UPDATE SET amount = excluded.amount RETURNING id"
    )


@transaction.atomic
def remove_from_cart(*, viewer: PortalViewer, order_id: int | str) -> None:
    _require_payments_on(viewer)
    cart = _locked_cart(viewer)
    _refuse_if_frozen(cart)
    deleted, _rows = CartItem.objects.filter(cart=cart, order_id=form_pk(order_id) or 0).delete()
    if not deleted:
        raise NotFound(_("Not found."))


@dataclass(frozen=True)
class CartLine:
    item: CartItem
    order: Order
    amount: int  # what paying now would allocate to the order


def _reprice(viewer: PortalViewer, cart: Cart, settings: PortalSettings) -> tuple[list[CartLine], list[str]]:
    """The cart against the orders as they are now (locked): drop what is no longer payable, cap the rest."""
    items = list(cart.items.all())
    payable = {o.pk: o for o in payable_orders(viewer, order_ids=[i.order_id for i in items], lock=True)}
    lines: list[CartLine] = []
    notices: list[str] = []
    for item in items:
        order = payable.get(item.order_id)
        if order is None or order.balance <= 0:
            number = Order.objects.values_list("number", flat=True).get(pk=item.order_id)
            notices.append(
                _(
                    "Order #%(number)s no longer needs paying here (paid, cancelled or withdrawn by "
                    "the school); it was taken out of your cart."
                )
                % {"number": number}
            )
            item.delete()
            continue
        if item.amount is not None and (not settings.allow_partial or item.amount >= order.balance):
            notices.append(
                _("Order #%(number)s now has %(balance)s left to pay; your cart pays that.")
                % {"number": order.number, "balance": format_money(order.balance)}
            )
            CartItem.objects.filter(pk=item.pk).update(amount=None)
            item.amount = None
        amount = order.balance if item.amount is None else item.amount
        if item.checkout_amount is not None and item.amount is None and amount != item.checkout_amount:
            notices.append(
                _("The balance of order #%(number)s changed from %(before)s to %(after)s.")
                % {
                    "number": order.number,
                    "before": format_money(item.checkout_amount),
                    "after": format_money(amount),
                }
            )
        lines.append(CartLine(item, order, amount))
    return lines, notices


def _remember_checkout_amounts(lines: Sequence[CartLine]) -> None:
    """What each item asked for at this checkout, in one UPDATE of the items whose amount changed."""
    changed = {line.item.pk: line.amount for line in lines if line.item.checkout_amount != line.amount}
    sql.update_by_pk(CartItem, changed, assign={"checkout_amount": changed})
    for line in lines:
        line.item.checkout_amount = line.amount


def cart_lines(viewer: PortalViewer, cart: Cart) -> list[CartLine]:
    """The cart (read with its items) as paying it now would allocate (read only)."""
    items = list(cart.items.all())
    payable = {o.pk: o for o in payable_orders(viewer, order_ids=[i.order_id for i in items])}
    missing = [i.order_id for i in items if i.order_id not in payable]
    gone = Order.objects.select_related("student").in_bulk(missing) if missing else {}
    lines = []
    for item in items:
        order = payable.get(item.order_id)
        if order is None:
            lines.append(CartLine(item, gone[item.order_id], 0))
        else:
            lines.append(CartLine(item, order, min(item.amount or order.balance, order.balance)))
    return lines


@dataclass(frozen=True)
class CheckoutResult:
    cart: Cart
    notices: list[str]
    action: object | None = None  # the gateway's PaymentAction when the payment was started
    out_trade_no: str = ""


def checkout(
    *,
    viewer: PortalViewer,
    client: str,
    return_url: str,
    client_ip: str = "",
    expected_total: int | None = None,
) -> CheckoutResult:
    """Take ONE online payment for the whole cart, allocated across its orders.

    The cart is re-priced under lock first; when anything changed (an order paid at the desk,
    cancelled, a different balance) nothing is started and the payer is told why. Otherwise, in
    the same transaction, the online payment is opened and the cart frozen with its number; then
    the gateway is asked how to pay, outside the transaction. A failure there unfreezes the cart.
    """
    from feedesk.gateways.services import open_online_payment, request_online_payment

    settings = _require_payments_on(viewer)
    with transaction.atomic():
        cart = active_cart(viewer, lock=True)  # with its items
        if cart is None:
            raise ValidationFailed(_("Your cart is empty."), code="cart_empty")
        _refuse_if_frozen(cart)
        lines, notices = _reprice(viewer, cart, settings)
        total = sum(line.amount for line in lines)
        if not lines and not notices:
            raise ValidationFailed(_("Your cart is empty."), code="cart_empty")
        if expected_total is not None and expected_total != total and not notices:
            notices.append(_("The total is now %(total)s.") % {"total": format_money(total)})
        _remember_checkout_amounts(lines)
        if notices:
            return CheckoutResult(cart, notices)
        opened = open_online_payment(
            student=_payer(viewer, lines),
            allocations=[AllocationRequest(order_id=line.order.pk, amount=line.amount) for line in lines],
            client=client,
            guardian=viewer.guardian,
            return_url=return_url,
            organization=viewer.organization,
            orders={line.order.pk: line.order for line in lines},
            guardian_student_ids=viewer.student_ids if viewer.guardian is not None else None,
        )
        cart.status, cart.out_trade_no, cart.updated_at = (
            Cart.Status.FROZEN,
            opened.online.out_trade_no,
            timezone.now(),
        )
        sql.update_by_pk(
            Cart,
            [cart.pk],
            assign={name: {cart.pk: getattr(cart, name)} for name in _FREEZE_FIELDS},
        )
    try:
        online, action = request_online_payment(
            opened=opened, client=client, client_ip=client_ip, return_url=return_url
        )
    except Exception:
        Cart.objects.filter(pk=cart.pk, status=Cart.Status.FROZEN).update(status=Cart.Status.OPEN)
        raise
    return CheckoutResult(cart, [], action, online.out_trade_no)


_FREEZE_FIELDS = ("status", "out_trade_no", "updated_at")


def _payer(viewer: PortalViewer, lines: Sequence[CartLine]) -> Student:
    """The student the payment is recorded against: the login's own, else the first child in the cart."""
    if viewer.student is not None:
        return viewer.student
    first = min(lines, key=lambda line: line.order.pk).order.student_id
    return viewer.get_student(first)


def sync_cart(*, viewer: PortalViewer, ask_provider: bool = False, frozen: Cart | None = None) -> Cart | None:
    """Bring a frozen cart up to date with its payment: paid → closed with its receipt; failed → open.

    `frozen` is the viewer's frozen cart when the caller has just read it; otherwise it is read here.
    A payment the provider never acknowledged (still created after a couple of minutes: the
    checkout did not get through to the gateway) reopens the cart, as does a checkout that never
    got a payment number.
    """
    from feedesk.gateways.services import refresh_online_payment

    cart, online = _frozen_cart(viewer)
    if frozen is not None and cart is not None and cart.pk == frozen.pk:
        cart = frozen  # the caller's, with its items
    if cart is None:
        return None
    stale = cart.updated_at < timezone.now() - STALE_FREEZE
    if not cart.out_trade_no:
        if stale:
            Cart.objects.filter(pk=cart.pk, status=Cart.Status.FROZEN, out_trade_no="").update(
                status=Cart.Status.OPEN
            )
        cart.refresh_from_db()
        return cart
    if online is None:
        return cart
    if ask_provider and online.status in (OnlineStatus.CREATED, OnlineStatus.PENDING):
        online = refresh_online_payment(online_payment=online)
    if online.status == OnlineStatus.SUCCEEDED:
        changes: dict[str, Any] = {"status": Cart.Status.PAID, "payment_id": online.payment_id}
    elif online.status in (OnlineStatus.FAILED, OnlineStatus.CLOSED) or (
        online.status == OnlineStatus.CREATED and stale
    ):
        changes = {"status": Cart.Status.OPEN}
    else:
        return cart
    names = tuple(changes)
    if sql.execute(_unfreeze_statement(names), [*changes.values(), cart.pk, Cart.Status.FROZEN]):
        for name, value in changes.items():
            setattr(cart, name, value)
    else:
        cart.refresh_from_db()
    return cart


def _frozen_cart(viewer: PortalViewer) -> tuple[Cart | None, OnlinePayment | None]:
    """The payer's frozen cart and the online payment of its number (None for either when there
    is none): one lean statement."""
    rows = sql.fetch(_frozen_cart_statement(), [viewer.user.pk, viewer.organization.pk, Cart.Status.FROZEN])
    if not rows:
        return None, None
    cart, online = sql.split_joined(rows[0], _FROZEN_CART_PARTS)
    return cart, online


_FROZEN_CART_PARTS = [Cart, OnlinePayment]


@lru_cache(maxsize=1)
def _frozen_cart_statement() -> str:
    cart, online = (model._meta.db_table for model in _FROZEN_CART_PARTS)
    selected = sql.joined_columns(((Cart, "c"), (OnlinePayment, "op")))
    return (
        f"SELECT {selected} FROM {cart} c LEFT JOIN {online} op ON op.organization_id = c.organization_id "
        "AND op.out_trade_no = c.out_trade_no AND c.out_trade_no <> '' "
        "WHERE c.owner_id = %s AND c.organization_id = %s AND c.status = %s ORDER BY c.id, op.id"
    )


@lru_cache(maxsize=4)
def _unfreeze_statement(names: tuple[str, ...]) -> str:
    """Set the fields `names` of a cart that is still frozen (id, then status, after the values)."""
    sets = ", ".join(f"{name} = %s" for name in names)  # status, payment_id: attnames are the columns
    return f"UPDATE {Cart._meta.db_table} SET {sets} WHERE id = %s AND status = %s"


def current_cart(viewer: PortalViewer, *, ask_provider: bool = False) -> Cart | None:
    """The payer's unpaid cart with its items, brought up to date with its payment first."""
    cart = active_cart(viewer)
    if cart is None or cart.status != Cart.Status.FROZEN:
        return cart
    synced = sync_cart(viewer=viewer, ask_provider=ask_provider, frozen=cart)
    if synced is not None and synced.status == Cart.Status.FROZEN:
        return cart
    return active_cart(viewer)
