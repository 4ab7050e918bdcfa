"""Taking payments, allocating them to orders, applying credit and reversing mistakes."""

import datetime
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.audit.services import new_audit_entry, record_audit
from feedesk.billing.models import Order, OrderStatus
from feedesk.billing.services import check_transition, status_after_payment
from feedesk.core import sql
from feedesk.core.errors import Conflict, NotFound, ValidationFailed
from feedesk.core.money import check_amount, format_money
from feedesk.core.permissions import Capability, ensure_same_organization, require
from feedesk.ledger.models import Account, AccountRole, EntryCode, JournalEntry, Posting
from feedesk.ledger.services import (
    EntryDraft,
    Leg,
    LockedHead,
    lock_accounts_then_head,
    open_clearing_account,
    post_entries,
    reversal_draft,
)
from feedesk.organizations.models import Campus
from feedesk.organizations.services import next_number_reserving
from feedesk.payments.models import Allocation, Channel, Payment
from feedesk.payments.selectors import propose_allocation
from feedesk.people.models import Student
from feedesk.users.models import User


@dataclass(frozen=True)
class AllocationRequest:
    order_id: int
    amount: int


def open_channel_accounts(*, organization_id: int) -> None:
    for channel in Channel:
        if channel != Channel.CASH:
            open_clearing_account(organization_id=organization_id, channel=channel, label=str(channel.label))


def open_cash_account(*, campus: Campus) -> None:
    open_clearing_account(
        organization_id=campus.organization_id,
        channel=Channel.CASH,
        label=campus.name,
        campus_id=campus.pk,
        campus_code=campus.code,
    )


def _lock_money_accounts(
    *, student: Student, channel: str, siblings: Collection[int] = (), entries: int
) -> tuple[int, int, int, dict[int, int], LockedHead]:
    """(clearing or cash account, student receivable, student credit, {sibling: receivable}) ids
    and the chain head, for a posting of `entries` entries: one statement locks the accounts in
    primary-key order and then the head, as `post_entries` would, so that the posting locks
    nothing more; `siblings` are the other students whose orders the payment settles."""
    dim: int | str
    if channel == Channel.CASH:
        money_role, where, dim = AccountRole.CASH, "campus_id = %s", student.campus_id
    else:
        money_role, where, dim = AccountRole.CLEARING, "channel = %s", channel
    others = sorted(set(siblings) - {student.pk})
    sibling_clause = f"OR (student_id IN ({sql.placeholders(len(others))}) AND role = %s) " if others else ""
    accounts, head = lock_accounts_then_head(
        (
            "SELECT role, id, student_id FROM ledger_account "
            "WHERE (student_id = %s AND role IN (%s, %s)) "
            f"{sibling_clause}"
            f"OR (organization_id = %s AND role = %s AND {where}) ORDER BY id{sql.lock_clause()}",
            [
                student.pk,
                AccountRole.RECEIVABLE,
                AccountRole.STUDENT_CREDIT,
                *([*others, AccountRole.RECEIVABLE] if others else []),
                student.organization_id,
                money_role,
                dim,
            ],
        ),
        columns=3,
        organization_id=student.organization_id,
        entries=entries,
    )
    own = [(role, pk) for role, pk, owner in accounts if owner in (student.pk, None)]
    by_role = dict(own)
    sibling_receivables = {owner: pk for _role, pk, owner in accounts if owner not in (student.pk, None)}
    if len(own) != 3 or len(by_role) != 3:
        raise Account.DoesNotExist(f"student {student.pk} or channel {channel} lacks its ledger accounts")
    missing = set(others) - set(sibling_receivables)
    if missing:
        raise Account.DoesNotExist(f"students {sorted(missing)} lack their receivable accounts")
    return (
        by_role[money_role],
        by_role[AccountRole.RECEIVABLE],
        by_role[AccountRole.STUDENT_CREDIT],
        sibling_receivables,
        head,
    )


_ORDER_FIELDS = ("id", "organization_id", "campus_id", "student_id", "number", "status", "total", "paid")


def _lock_orders(*, student: Student, order_ids: Sequence[int], missing_ok: bool = False) -> dict[int, Order]:
    """Lock orders of the student or of a sibling (a student sharing a guardian), by pk.

    One family payment may settle several children's orders; the orders carry what payment
    needs and the rest loads lazily. Orders outside the family are NotFound, or left out with
    `missing_ok`.
    """
    wanted = sorted(set(order_ids))
    # The family test is people.selectors.family_student_ids, written into the locking query so the
    # payment path spends no extra round trip on it.
    rows = (
        sql.fetch(
            f"SELECT {', '.join(_ORDER_FIELDS)} FROM billing_order "
            f"WHERE id IN ({sql.placeholders(len(wanted))}) AND (student_id = %s OR student_id IN ("
            "SELECT sibling.student_id FROM people_studentguardian AS own "
            "JOIN people_studentguardian AS sibling ON sibling.guardian_id = own.guardian_id "
            "WHERE own.student_id = %s)) ORDER BY id" + sql.lock_clause(),
            [*wanted, student.pk, student.pk],
        )
        if wanted
        else []
    )
    orders = {row[0]: sql.loaded(Order, _ORDER_FIELDS, row) for row in rows}
    missing = set(order_ids) - set(orders)
    if missing and not missing_ok:
        raise NotFound(
            _("Order not found for this student."), code="order_not_found", order_ids=sorted(missing)
        )
    return orders


_PAYABLE_FIELDS = (*_ORDER_FIELDS, "due_date")


def _lock_payable_orders(*, student_id: int) -> dict[int, Order]:
    """Lock the student's open and partly paid orders, by pk, with what allocating by due date needs."""
    rows = sql.fetch(
        f"SELECT {', '.join(_PAYABLE_FIELDS)} FROM billing_order "
        "WHERE student_id = %s AND status IN (%s, %s) ORDER BY id" + sql.lock_clause(),
        [student_id, OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID],
    )
    return {row[0]: sql.read(Order, _PAYABLE_FIELDS, row) for row in rows}


def _lock_student_accounts(*, student_id: int, also: Iterable[int] = ()) -> dict[str, Account]:
    """Lock the student's receivable and credit, plus `also`, by primary key before reading a balance.

    `also` must name every other account the operation will post to: post_entries locks them
    again, and taking a subset first, then the rest, would lock out of order and can deadlock.
    """
    locked = Account.objects.select_for_update().filter(Q(student_id=student_id) | Q(pk__in=list(also)))
    return {a.role: a for a in locked.order_by("pk") if a.student_id == student_id}


def _allocation_legs(
    *,
    orders: dict[int, Order],
    requests: Sequence[AllocationRequest],
    payer: Student,
    receivables: Mapping[int, int],
    payer_credit: int,
) -> list[Leg]:
    """Dr the payer's credit; Cr the receivable of each allocated order's student (siblings
    included), from `receivables` by student id."""
    per_student: dict[int, int] = {}
    for r in requests:
        student_id = orders[r.order_id].student_id
        per_student[student_id] = per_student.get(student_id, 0) + r.amount
    legs = [Leg(payer_credit, sum(per_student.values()))]
    legs += [Leg(receivables[sid], -amount) for sid, amount in sorted(per_student.items())]
    return legs


def _capped(orders: dict[int, Order], requests: Sequence[AllocationRequest]) -> list[AllocationRequest]:
    """The requests capped at the locked orders' balances; unpayable or missing orders dropped."""
    capped = []
    for request in requests:
        order = orders.get(request.order_id)
        if order is None or not order.is_payable:
            continue
        amount = min(request.amount, order.balance)
        if amount > 0:
            capped.append(AllocationRequest(order_id=request.order_id, amount=amount))
    return capped


def _check_allocations(
    orders: dict[int, Order], requests: Sequence[AllocationRequest], available: int
) -> None:
    seen: set[int] = set()
    for request in requests:
        order = orders[request.order_id]
        if request.order_id in seen:
            raise ValidationFailed(
                _("Order #%(number)s appears twice in the allocation.") % {"number": order.number},
                code="allocation_duplicate",
            )
        seen.add(request.order_id)
        check_amount(request.amount)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict(
                _("Order #%(number)s is cancelled and cannot be paid.") % {"number": order.number},
                code="order_cancelled",
            )
        if not order.is_payable:
            raise Conflict(
                _("Order #%(number)s is not open for payment.") % {"number": order.number},
                code="order_not_payable",
            )
        if request.amount > order.balance:
            raise ValidationFailed(
                _("%(amount)s is more than the %(balance)s still owed on order #%(number)s.")
                % {
                    "amount": format_money(request.amount),
                    "balance": format_money(order.balance),
                    "number": order.number,
                },
                code="allocation_exceeds_balance",
                order_id=order.pk,
            )
    total = sum(r.amount for r in requests)
    if total > available:
        raise ValidationFailed(
            _("The allocations add up to %(total)s, more than the %(available)s available.")
            % {"total": format_money(total), "available": format_money(available)},
            code="allocation_exceeds_payment",
        )


def _apply_to_orders(orders: dict[int, Order], requests: Sequence[AllocationRequest]) -> None:
    """Add signed allocations to the orders' paid amounts and move their status, in one UPDATE."""
    statement = _orders_update(orders, requests)
    if statement:
        sql.execute(*statement)


def _orders_update(orders: dict[int, Order], requests: Sequence[AllocationRequest]) -> sql.Statement | None:
    """`_apply_to_orders` as a statement for the caller to run (None: no allocations); the
    orders in memory are moved at once."""
    paid: dict[int, int] = {}
    status: dict[int, str] = {}
    for request in requests:
        order = orders[request.order_id]
        new_paid = order.paid + request.amount
        new_status = status_after_payment(total=order.total, paid=new_paid)
        check_transition(order.status, new_status)
        paid[order.pk] = paid.get(order.pk, 0) + request.amount
        status[order.pk] = new_status
        order.paid, order.status = new_paid, new_status
    return sql.update_by_pk_statement(Order, paid, add={"paid": paid}, assign={"status": status})


# Writes of a caller's that go with a new payment, given it: (sql, params) statements.
PaymentWrites = Callable[[Payment], Sequence[sql.Statement]]

# Keys made up for calls without one: fresh, so nothing can have used them before.
AUTO_KEY_PREFIX = "auto-"


def record_payment(
    *,
    actor: User,
    student: Student,
    amount: int,
    channel: str,
    reference: str = "",
    received_at: datetime.datetime | None = None,
    allocations: Sequence[AllocationRequest] | None = None,
    idempotency_key: str | None = None,
    cap_allocations: bool = False,
    key_held_by_caller: bool = False,
    then: PaymentWrites | None = None,
) -> Payment:
    """Record money received and allocate it; without allocations, oldest-due orders are paid first.

    Whatever is not allocated becomes the student's credit. The same idempotency key returns the
    payment it first created. With `cap_allocations` the allocations are what the payer asked
    for earlier (an online checkout): each is capped at what its order still owes once locked,
    and orders no longer payable (paid at the desk, cancelled, gone) take nothing.

    `key_held_by_caller`: the caller's transaction holds a lock that every use of
    `idempotency_key` takes first (an online payment's row for its posting), so no concurrent
    request can claim the key, and the payment is written in the caller's transaction without a
    savepoint to recover from one. Any failure then rolls the caller's transaction back.

    `then`: the caller's own writes that go with the new payment (given it, with its key), as
    statements run with the posting (on PostgreSQL in its one statement). Not run when an
    earlier payment with the key is returned.
    """
    ensure_same_organization(actor, student)
    require(actor, Capability.TAKE_PAYMENT, campus_id=student.campus_id)
    check_amount(amount)
    if channel not in Channel.values:
        raise ValidationFailed(_("Unknown payment channel."), code="channel_invalid")
    if received_at is not None and received_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationFailed(_("A payment cannot be received in the future."), code="received_in_future")
    key = idempotency_key or f"{AUTO_KEY_PREFIX}{uuid.uuid4()}"
    savepoint = not (key_held_by_caller and idempotency_key and transaction.get_connection().in_atomic_block)
    try:
        with transaction.atomic(savepoint=savepoint):
            return _record_payment(
                actor=actor,
                student=student,
                amount=amount,
                channel=channel,
                reference=reference,
                received_at=received_at,
                allocations=allocations,
                key=key,
                cap_allocations=cap_allocations,
                then=then,
            )
    except IntegrityError:
        if not savepoint:
            raise  # without a savepoint the caller's transaction can only roll back
        # A concurrent request with the same key committed first: answer with its payment.
        existing = Payment.objects.filter(
            organization_id=student.organization_id, idempotency_key=key
        ).first()
        if existing is None:
            raise
        return existing


def _record_payment(
    *,
    actor: User,
    student: Student,
    amount: int,
    channel: str,
    reference: str,
    received_at: datetime.datetime | None,
    allocations: Sequence[AllocationRequest] | None,
    key: str,
    cap_allocations: bool = False,
    then: PaymentWrites | None = None,
) -> Payment:
    if not key.startswith(AUTO_KEY_PREFIX):
        # A replay (a double submit, a retry) returns the first payment without checking again.
        existing = sql.fetch(
            "SELECT id FROM payments_payment WHERE organization_id = %s AND idempotency_key = %s",
            [student.organization_id, key],
        )
        if existing:
            return Payment.objects.get(pk=existing[0][0])
    if allocations is None:
        orders = _lock_payable_orders(student_id=student.pk)
        requests = [
            AllocationRequest(order_id=o.pk, amount=a)
            for o, a in propose_allocation(orders=list(orders.values()), amount=amount)
        ]
    else:
        requests = list(allocations)
        orders = _lock_orders(
            student=student, order_ids=[r.order_id for r in requests], missing_ok=cap_allocations
        )
        if cap_allocations:
            requests = _capped(orders, requests)
    _check_allocations(orders, requests, amount)

    # The payment's and its allocations' keys come with the receipt number, so that the payment
    # is written in the posting's statement (one round trip while the school's chain head is held).
    number, (payment_ids, allocation_ids) = next_number_reserving(
        organization_id=student.organization_id,
        name="receipt",
        reserve=[(Payment, 1), (Allocation, len(requests))],
    )
    clearing, receivable, credit, sibling_receivables, head = _lock_money_accounts(
        student=student,
        channel=channel,
        siblings={orders[r.order_id].student_id for r in requests},
        entries=2 if requests else 1,
    )
    allocated = sum(r.amount for r in requests)
    received = received_at or timezone.now()
    drafts = [
        EntryDraft(
            code=EntryCode.PAYMENT_RECEIVED,
            idempotency_key=f"payment:{key}:received",
            legs=[Leg(clearing, amount), Leg(credit, -amount)],
            effective_date=timezone.localdate(received),
            memo=f"R{number:08d}",
        )
    ]
    if requests:
        drafts.append(
            EntryDraft(
                code=EntryCode.ALLOCATION,
                idempotency_key=f"payment:{key}:allocated",
                legs=_allocation_legs(
                    orders=orders,
                    requests=requests,
                    payer=student,
                    receivables={**sibling_receivables, student.pk: receivable},
                    payer_credit=credit,
                ),
                effective_date=timezone.localdate(received),
                memo=" ".join(f"#{orders[r.order_id].number}" for r in requests),
            )
        )
    payment: Payment = sql.new(
        Payment,
        {
            "id": payment_ids[0],
            "organization_id": student.organization_id,
            "campus_id": student.campus_id,
            "student_id": student.pk,
            "receipt_number": f"R{number:08d}",
            "channel": channel,
            "amount": amount,
            "reference": reference.strip()[:100],
            "received_at": received,
            "idempotency_key": key,
            "recorded_by_id": actor.pk,
        },
        related={"student": student, "recorded_by": actor},
    )
    now = timezone.now()
    allocation_rows: list[Allocation] = [
        sql.new(
            Allocation,
            {
                "id": allocation_id,
                "organization_id": student.organization_id,
                "order_id": r.order_id,
                "payment_id": payment.pk,
                "amount": r.amount,
                "created_by_id": actor.pk,
                "created_at": now,
            },
            related={"order": orders[r.order_id], "payment": payment},
        )
        for r, allocation_id in zip(requests, allocation_ids, strict=True)
    ]
    # Callers answering with the payment read its allocations without another query.
    sql.cache_related_list(payment, "allocations", allocation_rows)
    audit = new_audit_entry(
        actor=actor,
        action="payment.recorded",
        target=payment,
        amount=amount,
        data={
            "channel": channel,
            "allocations": {str(r.order_id): r.amount for r in requests},
            "to_credit": amount - allocated,
        },
    )

    def payment_writes(entries: list[JournalEntry]) -> list[sql.Statement]:
        payment.entry_id = entries[0].pk
        sql.cache_related(payment, "entry", entries[0])
        for row in allocation_rows:
            row.entry_id = entries[1].pk
        writes = [sql.insert_instances_statement([payment]), sql.insert_instances_statement([audit])]
        if allocation_rows:
            writes.append(sql.insert_instances_statement(allocation_rows))
        orders_update = _orders_update(orders, requests)
        if orders_update:
            writes.append(orders_update)
        return [*writes, *(then(payment) if then else ())]

    post_entries(
        organization_id=student.organization_id,
        actor=actor,
        drafts=drafts,
        head=head,
        then=payment_writes,
    )
    return payment


@transaction.atomic
def apply_credit(*, actor: User, student: Student, order: Order, amount: int) -> Allocation:
    """Pay an order from the student's credit (wallet)."""
    ensure_same_organization(actor, student)
    require(actor, Capability.APPLY_CREDIT, campus_id=student.campus_id)
    check_amount(amount)
    orders = _lock_orders(student=student, order_ids=[order.pk])
    accounts = _lock_student_accounts(student_id=student.pk)
    credit_account = accounts[AccountRole.STUDENT_CREDIT]
    _check_allocations(orders, [AllocationRequest(order.pk, amount)], credit_account.balance)
    receivable = accounts[AccountRole.RECEIVABLE].pk
    key = f"credit:{uuid.uuid4()}"
    [entry] = post_entries(
        organization_id=student.organization_id,
        actor=actor,
        drafts=[
            EntryDraft(
                code=EntryCode.CREDIT_APPLIED,
                idempotency_key=key,
                legs=[Leg(credit_account.pk, amount), Leg(receivable, -amount)],
                memo=f"#{orders[order.pk].number}",
            )
        ],
    )
    allocation = Allocation.objects.create(
        organization_id=student.organization_id,
        order_id=order.pk,
        payment=None,
        amount=amount,
        entry=entry,
        created_by=actor,
    )
    _apply_to_orders(orders, [AllocationRequest(order.pk, amount)])
    record_audit(
        actor=actor,
        action="credit.applied",
        target=orders[order.pk],
        amount=amount,
        data={"allocation": allocation.pk},
    )
    return allocation


@transaction.atomic
def reverse_payment(*, actor: User, payment: Payment, reason: str) -> Payment:
    """Undo a payment recorded by mistake with reversal entries; nothing is deleted."""
    ensure_same_organization(actor, payment)
    require(actor, Capability.REVERSE_PAYMENT, campus_id=payment.campus_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the reversal."), code="reason_required")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.REVERSED:
        raise Conflict(
            _("Receipt %(receipt)s is already reversed.") % {"receipt": payment.receipt_number},
            code="payment_already_reversed",
        )
    originals = list(Allocation.objects.filter(payment=payment, amount__gt=0).order_by("pk"))
    orders = _lock_orders(student=payment.student, order_ids=sorted({a.order_id for a in originals}))
    reversed_entries = [payment.entry_id, *{a.entry_id for a in originals}]
    credit_account = _lock_student_accounts(
        student_id=payment.student_id,
        also=Posting.objects.filter(entry_id__in=reversed_entries).values_list("account_id", flat=True),
    )[AccountRole.STUDENT_CREDIT]
    unallocated = payment.amount - sum(a.amount for a in originals)
    if credit_account.balance < unallocated:
        raise Conflict(
            _(
                "%(amount)s of this payment was left as credit and has since been used; "
                "reverse that use first."
            )
            % {"amount": format_money(unallocated)},
            code="credit_already_used",
        )
    drafts = [
        reversal_draft(
            entry=payment.entry,
            idempotency_key=f"payment:{payment.idempotency_key}:reversed",
            memo=payment.receipt_number,
        )
    ]
    if originals:
        drafts.append(
            reversal_draft(
                entry=originals[0].entry,
                idempotency_key=f"payment:{payment.idempotency_key}:allocation-reversed",
                memo=payment.receipt_number,
            )
        )
    entries = post_entries(organization_id=payment.organization_id, actor=actor, drafts=drafts)
    Allocation.objects.bulk_create(
        Allocation(
            organization_id=a.organization_id,
            order_id=a.order_id,
            payment=payment,
            amount=-a.amount,
            entry=entries[-1],
            reverses=a,
            created_by=actor,
        )
        for a in originals
    )
    _apply_to_orders(orders, [AllocationRequest(a.order_id, -a.amount) for a in originals])
    now = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.REVERSED,
        reversed_at=now,
        reversed_by=actor,
        reversal_reason=reason[:300],
        reversal_entry=entries[0],
    )
    record_audit(
        actor=actor,
        action="payment.reversed",
        target=payment,
        amount=payment.amount,
        data={"reason": reason, "allocations": {str(a.order_id): a.amount for a in originals}},
    )
    payment.refresh_from_db()
    return payment
