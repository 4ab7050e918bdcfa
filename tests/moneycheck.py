"""Helpers for the money tests: a fast password hasher, row snapshots and the ledger invariants."""

from collections import defaultdict
from contextlib import contextmanager

import pytest
from django.db.models import Sum
from django.utils import translation

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order, OrderLine, OrderStatus
from feedesk.core.errors import DomainError
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole, ChainHead, JournalEntry, Posting
from feedesk.ledger.selectors import verify_ledger
from feedesk.organizations.models import Counter
from feedesk.payments.models import Allocation, Payment

MONEY_MODELS = (Order, OrderLine, Enrolment, Payment, Allocation, JournalEntry, Posting, AuditEntry, Account)


def snapshot() -> dict[str, object]:
    """Everything a money operation may write: row counts, cached totals, statuses and counters."""
    return {
        "rows": {model.__name__: model.objects.count() for model in MONEY_MODELS},
        "accounts": list(Account.objects.order_by("pk").values_list("pk", "debits", "credits")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "paid", "total")),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "status")),
        "enrolments": list(Enrolment.objects.order_by("pk").values_list("pk", "status", "tuition_amount")),
        "heads": list(ChainHead.objects.order_by("pk").values_list("pk", "last_seq", "last_hash")),
        "counters": list(Counter.objects.order_by("pk").values_list("pk", "value")),
    }


@contextmanager
def nothing_written():
    """Assert that the block leaves every money row, total and counter exactly as it was."""
    before = snapshot()
    yield
    assert snapshot() == before


def expect_error(call, code: str, english: str | None = None, error=DomainError) -> DomainError:
    """Run `call` (which must fail) in English and in Chinese: same code, a message in both."""
    with translation.override("en"), pytest.raises(error) as caught:
        call()
    assert caught.value.code == code, (caught.value.code, str(caught.value))
    if english is not None:
        assert english in str(caught.value.message), str(caught.value.message)
    with translation.override("zh-hans"), pytest.raises(error) as caught_zh:
        call()
    assert caught_zh.value.code == code
    assert str(caught_zh.value.message).strip()
    return caught.value


def assert_ledger_invariants(organization_id: int) -> None:
    """The money rules, recomputed independently of the services' own bookkeeping."""
    report = verify_ledger(organization_id=organization_id)
    assert report.ok, report.problems
    postings = Posting.objects.filter(entry__organization_id=organization_id)
    unbalanced = postings.values_list("entry_id").annotate(s=Sum("amount")).exclude(s=0)
    assert not unbalanced.exists(), list(unbalanced)
    posted = dict(postings.values_list("account_id").annotate(s=Sum("amount")))
    accounts = Account.objects.filter(organization_id=organization_id).values_list(
        "pk", "code", "role", "student_id", "debits", "credits"
    )
    receivable: dict[int, int] = {}
    credit: dict[int, int] = {}
    for pk, code, role, student_id, debits, credits in accounts:
        assert debits - credits == posted.get(pk, 0), f"{code}: cached totals differ from postings"
        if role == AccountRole.RECEIVABLE:
            receivable[student_id] = debits - credits
        elif role == AccountRole.STUDENT_CREDIT:
            credit[student_id] = credits - debits
    allocations = Allocation.objects.filter(organization_id=organization_id)
    allocated = dict(allocations.values_list("order_id").annotate(s=Sum("amount")))
    owed: dict[int, int] = defaultdict(int)
    orders = Order.objects.filter(organization_id=organization_id).values_list(
        "pk", "number", "student_id", "status", "total", "paid"
    )
    for pk, number, student_id, status, total, paid in orders:
        assert paid == allocated.get(pk, 0), f"order #{number}: paid differs from its allocations"
        assert 0 <= paid <= total, f"order #{number} over-allocated"
        if status not in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
            owed[student_id] += total - paid
    for student_id, balance in receivable.items():
        assert balance == owed.get(student_id, 0), f"student {student_id}: receivable differs from orders"
    assert sum(receivable.values()) == sum(owed.values())
    # Credit: money received and not reversed, less everything allocated (reversals net to zero).
    received = dict(
        Payment.objects.filter(organization_id=organization_id, status=Payment.Status.RECEIVED)
        .values_list("student_id")
        .annotate(s=Sum("amount"))
    )
    applied = dict(allocations.values_list("order__student_id").annotate(s=Sum("amount")))
    for student_id, balance in credit.items():
        assert balance == received.get(student_id, 0) - applied.get(student_id, 0), f"student {student_id}"
        assert balance >= 0, f"student {student_id}: negative credit"
