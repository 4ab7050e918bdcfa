"""Orders: pricing with discounts, issuing (posted to the ledger), flags and cancelling."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.audit.services import record_audit
from feedesk.billing.models import Order, OrderLine, OrderStatus
from feedesk.core.errors import Conflict, IllegalTransition, ValidationFailed
from feedesk.core.money import check_amount, percentage_of, split_largest_remainder
from feedesk.core.permissions import Capability, ensure_same_organization, require
from feedesk.ledger.models import Account, AccountRole, EntryCode
from feedesk.ledger.services import EntryDraft, Leg, post_entries, reversal_draft
from feedesk.organizations.services import next_number
from feedesk.people.models import Student
from feedesk.users.models import User

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.DRAFT: {OrderStatus.OPEN, OrderStatus.CANCELLED},
    OrderStatus.OPEN: {OrderStatus.PARTIALLY_PAID, OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.PARTIALLY_PAID: {OrderStatus.PAID, OrderStatus.OPEN},
    # Leaving PAID only happens when a payment is reversed (or, later, refunded).
    OrderStatus.PAID: {OrderStatus.PARTIALLY_PAID, OrderStatus.OPEN},
    OrderStatus.CANCELLED: set(),
}


def check_transition(current: str, target: str, *, allow_same: bool = True) -> None:
    """Raise unless `current` may become `target`. Staying put is allowed only when `allow_same`
    (a payment may leave an order partially paid); issuing or cancelling twice is not."""
    if current == target and allow_same:
        return
    if target not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransition(
            _("An order cannot go from “%(current)s” to “%(target)s”.")
            % {"current": OrderStatus(current).label, "target": OrderStatus(target).label},
            current=current,
            target=target,
        )


def status_after_payment(*, total: int, paid: int) -> str:
    if paid == 0:
        return OrderStatus.OPEN
    if paid >= total:
        return OrderStatus.PAID
    return OrderStatus.PARTIALLY_PAID


class DiscountKind(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


@dataclass(frozen=True)
class Discount:
    """A fixed amount in fen, or a percentage in basis points (12.5% = 1250)."""

    kind: DiscountKind
    value: int

    def amount_on(self, subtotal: int) -> int:
        if self.kind == DiscountKind.FIXED:
            check_amount(self.value, allow_zero=True)
            amount = self.value
        else:
            if not 0 <= self.value <= 10_000:
                raise ValidationFailed(
                    _("A percentage discount must be between 0 and 100%."), code="discount_invalid"
                )
            amount = percentage_of(subtotal, self.value)
        if amount > subtotal:
            raise ValidationFailed(
                _("The discount is larger than what it applies to."), code="discount_too_large"
            )
        return amount


@dataclass(frozen=True)
class LineDraft:
    kind: str
    description: str
    unit_price: int
    quantity: Decimal = Decimal(1)
    discountable: bool = True

    @property
    def gross(self) -> int:
        return int((Decimal(self.unit_price) * self.quantity).to_integral_value())


def price_lines(lines: list[LineDraft], discount: Discount | None) -> list[tuple[int, int, int]]:
    """(gross, discount, net) per line. An order discount is spread over the discountable lines by
    largest remainder in proportion to their gross, so line discounts add up to it exactly."""
    grosses = [line.gross for line in lines]
    for gross in grosses:
        check_amount(gross, allow_zero=True)
    discounts = [0] * len(lines)
    if discount is not None:
        eligible = [i for i, line in enumerate(lines) if line.discountable]
        subtotal = sum(grosses[i] for i in eligible)
        amount = discount.amount_on(subtotal)
        for i, part in zip(
            eligible, split_largest_remainder(amount, [grosses[i] for i in eligible]), strict=True
        ):
            discounts[i] = part
    return [(g, d, g - d) for g, d in zip(grosses, discounts, strict=True)]


_INCOME_ROLE = {
    OrderLine.Kind.MATERIALS: AccountRole.MATERIALS_INCOME,
    OrderLine.Kind.REGISTRATION: AccountRole.REGISTRATION_INCOME,
    OrderLine.Kind.OTHER: AccountRole.OTHER_INCOME,
}


def _issue_legs(order: Order, lines: list[OrderLine]) -> list[Leg]:
    """Dr the student's receivable; Cr deferred tuition (a liability until earned) and income."""
    receivable = Account.objects.only("pk").get(student_id=order.student_id, role=AccountRole.RECEIVABLE)
    income = {
        a.role: a.pk
        for a in Account.objects.filter(
            organization_id=order.organization_id, role__in=list(_INCOME_ROLE.values())
        )
    }
    credits: dict[int, int] = {}
    for line in lines:
        if not line.net_amount:
            continue
        if line.kind == OrderLine.Kind.TUITION:
            if order.enrolment_id is None:
                raise ValidationFailed(
                    _("A tuition line needs an enrolment."), code="tuition_without_enrolment"
                )
            account_id = Account.objects.only("pk").get(enrolment_id=order.enrolment_id).pk
        else:
            account_id = income[_INCOME_ROLE[OrderLine.Kind(line.kind)]]
        credits[account_id] = credits.get(account_id, 0) + line.net_amount
    legs = [Leg(account_id=receivable.pk, amount=order.total)]
    legs += [Leg(account_id=a, amount=-amount) for a, amount in credits.items()]
    return legs


def create_order(
    *,
    actor: User,
    student: Student,
    lines: list[LineDraft],
    due_date: datetime.date | None = None,
    discount: Discount | None = None,
    kind: str = Order.Kind.MANUAL,
    on_account: bool = True,
    online_payable: bool = False,
    external_notes: str = "",
    internal_notes: str = "",
    issue: bool = True,
    enrolment_id: int | None = None,
) -> Order:
    """Create an order with its lines and, unless `issue` is False, issue it to the ledger."""
    with transaction.atomic():
        ensure_same_organization(actor, student)
        require(actor, Capability.ISSUE_ORDER, campus_id=student.campus_id)
        if not lines:
            raise ValidationFailed(_("An order needs at least one line."), code="order_empty")
        for line in lines:
            if not line.description.strip():
                raise ValidationFailed(_("Every line needs a description."), code="line_description_required")
            if line.quantity <= 0:
                raise ValidationFailed(_("A quantity must be greater than zero."), code="quantity_invalid")
        priced = price_lines(lines, discount)
        total = sum(net for _g, _d, net in priced)
        if total <= 0:
            raise ValidationFailed(
                _("The order total must be greater than zero."), code="order_total_not_positive"
            )
        organization = student.organization
        order = Order.objects.create(
            organization_id=student.organization_id,
            campus_id=student.campus_id,
            student=student,
            number=next_number(organization_id=student.organization_id, name="order"),
            kind=kind,
            total=total,
            due_date=due_date
            or timezone.localdate() + datetime.timedelta(days=organization.default_due_days),
            on_account=on_account,
            online_payable=online_payable,
            external_notes=external_notes,
            internal_notes=internal_notes,
            enrolment_id=enrolment_id,
            created_by=actor,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                position=i,
                kind=line.kind,
                description=line.description.strip(),
                quantity=line.quantity,
                unit_price=line.unit_price,
                gross_amount=g,
                discount_amount=d,
                net_amount=n,
            )
            for i, (line, (g, d, n)) in enumerate(zip(lines, priced, strict=True))
        )
        record_audit(
            actor=actor,
            action="order.created",
            target=order,
            amount=total,
            data={"number": order.number, "discount": sum(d for _g, d, _n in priced)},
        )
        if issue:
            order = issue_order(actor=actor, order=order)
        return order


@transaction.atomic
def issue_order(*, actor: User, order: Order) -> Order:
    """draft → open: post ORDER_ISSUED (Dr receivable, Cr deferred tuition / income)."""
    ensure_same_organization(actor, order)
    require(actor, Capability.ISSUE_ORDER, campus_id=order.campus_id)
    order = Order.objects.select_for_update().get(pk=order.pk)
    check_transition(order.status, OrderStatus.OPEN, allow_same=False)
    lines = list(order.lines.all())
    [entry] = post_entries(
        organization_id=order.organization_id,
        actor=actor,
        drafts=[
            EntryDraft(
                code=EntryCode.ORDER_ISSUED,
                idempotency_key=f"order:{order.pk}:issued",
                legs=_issue_legs(order, lines),
                memo=f"#{order.number}",
            )
        ],
    )
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.OPEN, issue_entry=entry, issued_at=timezone.now()
    )
    record_audit(
        actor=actor, action="order.issued", target=order, amount=order.total, data={"entry": entry.pk}
    )
    order.refresh_from_db()
    return order


@transaction.atomic
def cancel_order(*, actor: User, order: Order, reason: str = "") -> Order:
    """Cancel an order nothing has been paid on; an issued one is reversed in the ledger."""
    ensure_same_organization(actor, order)
    require(actor, Capability.CANCEL_ORDER, campus_id=order.campus_id)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.paid > 0:
        raise Conflict(
            _("Order #%(number)s has payments allocated to it; it needs a refund, not a cancellation.")
            % {"number": order.number},
            code="order_has_payments",
        )
    check_transition(order.status, OrderStatus.CANCELLED, allow_same=False)
    if order.issue_entry_id is not None:
        assert order.issue_entry is not None
        post_entries(
            organization_id=order.organization_id,
            actor=actor,
            drafts=[
                reversal_draft(
                    entry=order.issue_entry,
                    idempotency_key=f"order:{order.pk}:cancelled",
                    code=EntryCode.ORDER_CANCELLED,
                    memo=f"#{order.number}",
                )
            ],
        )
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.CANCELLED, cancelled_at=timezone.now(), cancel_reason=reason[:300]
    )
    # A renewal or arrears order going away leaves the student's place; the last live order takes it.
    if order.enrolment_id is not None and not (
        Order.objects.filter(enrolment_id=order.enrolment_id)
        .exclude(pk=order.pk)
        .exclude(status=OrderStatus.CANCELLED)
        .exists()
    ):
        from feedesk.enrolment.models import Enrolment

        Enrolment.objects.filter(pk=order.enrolment_id).update(status=Enrolment.Status.CANCELLED)
    record_audit(
        actor=actor, action="order.cancelled", target=order, amount=order.total, data={"reason": reason}
    )
    order.refresh_from_db()
    return order


@transaction.atomic
def update_order_flags(
    *,
    actor: User,
    order: Order,
    online_payable: bool | None = None,
    external_notes: str | None = None,
    internal_notes: str | None = None,
    due_date: datetime.date | None = None,
) -> Order:
    """Change what the payer sees and how the order may be paid; never its amounts."""
    ensure_same_organization(actor, order)
    require(actor, Capability.ISSUE_ORDER, campus_id=order.campus_id)
    order = Order.objects.select_for_update().get(pk=order.pk)
    changes: dict[str, object] = {}
    if online_payable is not None:
        changes["online_payable"] = online_payable
    if external_notes is not None:
        changes["external_notes"] = external_notes
    if internal_notes is not None:
        changes["internal_notes"] = internal_notes
    if due_date is not None:
        changes["due_date"] = due_date
    if changes:
        Order.objects.filter(pk=order.pk).update(**changes)
        record_audit(
            actor=actor, action="order.updated", target=order, data={k: str(v) for k, v in changes.items()}
        )
    order.refresh_from_db()
    return order
