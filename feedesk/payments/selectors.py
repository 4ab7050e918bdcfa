"""Reads for the desk, the API and reports: one place computes every student figure."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from feedesk.billing.models import Order, OrderStatus
from feedesk.billing.selectors import PAYABLE_STATUSES
from feedesk.core import sql
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole
from feedesk.payments.models import Allocation, Payment
from feedesk.people.models import Student
from feedesk.people.selectors import visibility_condition
from feedesk.users.models import User


def propose_allocation(*, orders: Sequence[Order], amount: int) -> list[tuple[Order, int]]:
    """Oldest due first: fill each order's balance until the money runs out."""
    proposal = []
    left = amount
    for order in sorted(orders, key=lambda o: (o.due_date, o.number)):
        if left <= 0:
            break
        if not order.is_payable or order.balance <= 0:
            continue
        take = min(order.balance, left)
        proposal.append((order, take))
        left -= take
    return proposal


def payments_visible_to(user: User) -> QuerySet[Payment]:
    qs = Payment.objects.filter(organization_id=user.tenant_id)
    campus_ids = user.campus_ids()
    if campus_ids is not None:
        qs = qs.filter(campus_id__in=campus_ids)
    return qs


def payments_with_allocations(qs: QuerySet[Payment]) -> QuerySet[Payment]:
    return qs.select_related("recorded_by", "student").prefetch_related(
        Prefetch("allocations", queryset=Allocation.objects.select_related("order").order_by("pk"))
    )


@dataclass(frozen=True)
class StudentAccount:
    student: Student
    balance_due: int
    overdue: int
    credit: int
    currency: str
    orders: list[Order]
    payments: list[Payment]
    credit_allocations: list[Allocation]


@dataclass(frozen=True)
class StudentBalances:
    balance_due: int
    overdue: int
    credit: int
    currency: str


_BALANCE_FIELDS = ("kind", "debits", "credits", "currency")
_HOURS_FIELDS = ("id", "class_group_id", "status", "purchased_hours", "gift_hours", "consumed_hours")


@dataclass(frozen=True)
class AccountSummary:
    student_id: int
    balances: StudentBalances
    # Not cancelled, oldest first; their hours are loaded (other fields load on access).
    enrolments: list[Enrolment]


@lru_cache(maxsize=1)
def _summary_sql() -> str:
    statuses = ", ".join(f"'{status}'" for status in PAYABLE_STATUSES)
    return (
        f"SELECT {sql.columns(Account, _BALANCE_FIELDS, 'r')}, {sql.columns(Account, _BALANCE_FIELDS, 'c')}, "
        f"(SELECT SUM(o.total - o.paid) FROM {Order._meta.db_table} o "
        f"WHERE o.student_id = s.id AND o.status IN ({statuses}) AND o.due_date < %s), "
        f"{sql.columns(Enrolment, _HOURS_FIELDS, 'e')} "
        f"FROM {Student._meta.db_table} s "
        f"JOIN {Account._meta.db_table} r ON r.student_id = s.id AND r.role = '{AccountRole.RECEIVABLE}' "
        f"JOIN {Account._meta.db_table} c ON c.student_id = s.id AND c.role = '{AccountRole.STUDENT_CREDIT}' "
        f"LEFT JOIN {Enrolment._meta.db_table} e "
        f"ON e.student_id = s.id AND e.status <> '{Enrolment.Status.CANCELLED}' "
        "WHERE s.id = %s AND {visible} ORDER BY e.id"
    )


def _summary(
    *, student_id: int, condition: str, params: list[Any], today: datetime.date | None
) -> AccountSummary | None:
    today = today or timezone.localdate()
    rows = sql.fetch(
        _summary_sql().format(visible=condition),
        [connection.ops.adapt_datefield_value(today), student_id, *params],
    )
    if not rows:
        return None
    width = len(_BALANCE_FIELDS)
    receivable: Account = sql.read(Account, _BALANCE_FIELDS, rows[0][:width])
    credit: Account = sql.read(Account, _BALANCE_FIELDS, rows[0][width : 2 * width])
    balances = StudentBalances(
        balance_due=receivable.balance,
        overdue=rows[0][2 * width] or 0,
        credit=credit.balance,
        currency=receivable.currency,
    )
    first = 2 * width + 1
    enrolments = [sql.read(Enrolment, _HOURS_FIELDS, row[first:]) for row in rows if row[first] is not None]
    return AccountSummary(student_id=student_id, balances=balances, enrolments=enrolments)


def account_summary(
    *, user: User, student_id: int, today: datetime.date | None = None
) -> AccountSummary | None:
    """The student's balances and current enrolments, or None when `user` may not see the student.

    One statement: the API's account read runs it on every call.
    """
    condition, params = visibility_condition(user, "s")
    return _summary(student_id=student_id, condition=condition, params=params, today=today)


def student_balances(*, student: Student, today: datetime.date | None = None) -> StudentBalances:
    """What the student owes (the receivable account), has on credit (the credit account) and is overdue.

    The one place these figures are computed (with `account_summary`, which shares the statement);
    pages that also list orders and payments use `student_account`, which reads them from here.
    """
    summary = _summary(
        student_id=student.pk,
        condition="s.organization_id = %s",
        params=[student.organization_id],
        today=today,
    )
    assert summary is not None, "every student has a receivable and a credit account"
    return summary.balances


def student_account(*, student: Student, today: datetime.date | None = None) -> StudentAccount:
    """The student's balances with every order, payment (and its allocations) and credit application."""
    balances = student_balances(student=student, today=today)
    orders = list(
        Order.objects.filter(student=student)
        .exclude(status=OrderStatus.DRAFT)
        .prefetch_related("lines")
        .order_by("-due_date", "-number")
    )
    payments = list(
        # A sibling's family payment that settled this student's orders is listed too.
        payments_with_allocations(
            Payment.objects.filter(Q(student=student) | Q(allocations__order__student=student)).distinct()
        ).order_by("-received_at")
    )
    credit_allocations = list(
        Allocation.objects.filter(order__student=student, payment__isnull=True)
        .select_related("order")
        .order_by("-pk")
    )
    return StudentAccount(
        student=student,
        balance_due=balances.balance_due,
        overdue=balances.overdue,
        credit=balances.credit,
        currency=balances.currency,
        orders=orders,
        payments=payments,
        credit_allocations=credit_allocations,
    )


@dataclass(frozen=True)
class ChannelTakings:
    channel: str
    label: str
    count: int
    amount: int


def takings_by_channel(*, user: User, day: datetime.date) -> list[ChannelTakings]:
    """Money received on `day` (school's local date), by channel, net of reversals made that day."""
    from feedesk.payments.models import Channel

    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = start + datetime.timedelta(days=1)
    rows = (
        payments_visible_to(user)
        .filter(received_at__gte=start, received_at__lt=end, status=Payment.Status.RECEIVED)
        .values("channel")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by("channel")
    )
    labels = dict(Channel.choices)
    return [
        ChannelTakings(
            channel=r["channel"],
            label=str(labels.get(r["channel"], r["channel"])),
            count=r["n"],
            amount=r["total"] or 0,
        )
        for r in rows
    ]


def open_balances_total(*, user: User) -> tuple[int, int]:
    """(number of orders with money owed, total owed) for the user's campuses."""
    from feedesk.billing.selectors import orders_visible_to

    agg = (
        orders_visible_to(user)
        .filter(status__in=PAYABLE_STATUSES)
        .aggregate(n=Count("pk"), total=Sum("total"), paid=Sum("paid"))
    )
    return agg["n"] or 0, (agg["total"] or 0) - (agg["paid"] or 0)
