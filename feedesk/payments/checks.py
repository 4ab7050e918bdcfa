"""Consistency checks between orders, allocations and the ledger, run by `ledger_verify`."""

from collections import defaultdict
from typing import Any

from django.db.models import Sum

from feedesk.billing.models import Order, OrderStatus
from feedesk.ledger.models import Account, AccountRole
from feedesk.payments.models import Allocation


def order_allocation_problems(organization_id: int | None) -> list[dict[str, Any]]:
    orders = Order.objects.all()
    allocations = Allocation.objects.all()
    receivables = Account.objects.filter(role=AccountRole.RECEIVABLE)
    if organization_id is not None:
        orders = orders.filter(organization_id=organization_id)
        allocations = allocations.filter(organization_id=organization_id)
        receivables = receivables.filter(organization_id=organization_id)
    allocated = dict(allocations.values("order_id").annotate(s=Sum("amount")).values_list("order_id", "s"))
    problems: list[dict[str, Any]] = []
    owed_by_student: dict[int, int] = defaultdict(int)
    for pk, number, student_id, status, total, paid in orders.values_list(
        "pk", "number", "student_id", "status", "total", "paid"
    ):
        expected = allocated.get(pk, 0)
        if paid != expected:
            problems.append(
                {
                    "check": "order_paid",
                    "order_id": pk,
                    "order": number,
                    "message": f"order #{number}: paid {paid} but allocations sum to {expected}",
                }
            )
        if expected > total or expected < 0:
            problems.append(
                {
                    "check": "order_over_allocated",
                    "order_id": pk,
                    "order": number,
                    "message": f"order #{number}: allocations {expected} outside 0..{total}",
                }
            )
        if status not in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
            owed_by_student[student_id] += total - expected
    for account_id, code, student_id, debits, credits in receivables.values_list(
        "pk", "code", "student_id", "debits", "credits"
    ):
        if debits - credits != owed_by_student.get(student_id, 0):
            problems.append(
                {
                    "check": "receivable_matches_orders",
                    "account_id": account_id,
                    "account": code,
                    "message": f"account {code}: balance {debits - credits} but the student's orders owe "
                    f"{owed_by_student.get(student_id, 0)}",
                }
            )
    return problems
