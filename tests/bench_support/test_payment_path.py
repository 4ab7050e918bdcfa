"""The payment path after its query diet: same rows, same rules, fewer statements."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order, OrderLine, OrderStatus
from feedesk.billing.services import LineDraft, cancel_order, create_order
from feedesk.core.errors import Conflict, NotFound, ValidationFailed
from feedesk.ledger.models import Account, AccountRole, ChainHead, EntryCode, JournalEntry, Posting
from feedesk.ledger.selectors import verify_ledger
from feedesk.ledger.services import EntryDraft, Leg, post_entries
from feedesk.organizations.models import Counter
from feedesk.organizations.services import next_number
from feedesk.payments.models import Allocation, Payment
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment
from feedesk.people.services import create_guardian


def order_for(school, student, amount):
    return create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="学费", unit_price=amount)],
    )


def balances(student):
    return {
        a.role: (a.debits, a.credits)
        for a in Account.objects.filter(
            student=student, role__in=[AccountRole.RECEIVABLE, AccountRole.STUDENT_CREDIT]
        )
    }


def written():
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        Payment.objects.count(),
        Allocation.objects.count(),
        AuditEntry.objects.count(),
        tuple(ChainHead.objects.order_by("pk").values_list("last_seq", "last_hash")),
    )


@pytest.fixture
def two_orders(school):
    student = school.student()
    return student, order_for(school, student, 10_000), order_for(school, student, 50_000)


def test_payment_across_two_orders_writes_what_the_orm_would(school, two_orders):
    student, first, second = two_orders
    payment = record_payment(
        actor=school.cashier,
        student=student,
        amount=40_000,
        channel="wechat_pay",
        reference=" wx-1 ",
        allocations=[AllocationRequest(first.pk, 10_000), AllocationRequest(second.pk, 20_000)],
        idempotency_key="pay-1",
    )

    stored = Payment.objects.get(pk=payment.pk)
    assert model_to_dict(payment) == model_to_dict(stored)
    assert (payment.created_at, payment.received_at) == (stored.created_at, stored.received_at)
    assert (stored.receipt_number, stored.reference, stored.status) == ("R00000001", "wx-1", "received")
    assert not payment._state.adding
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.paid, first.status) == (10_000, OrderStatus.PAID)
    assert (second.paid, second.status) == (20_000, OrderStatus.PARTIALLY_PAID)
    assert sorted(Allocation.objects.filter(payment=payment).values_list("order_id", "amount")) == [
        (first.pk, 10_000),
        (second.pk, 20_000),
    ]
    received, allocated = JournalEntry.objects.filter(pk__in=[stored.entry_id, stored.entry_id + 1])
    assert (received.code, allocated.code) == (EntryCode.PAYMENT_RECEIVED, EntryCode.ALLOCATION)
    assert allocated.memo == f"#{first.number} #{second.number}"
    # Receivable: +60,000 issued, −30,000 allocated; credit: 40,000 in, 30,000 applied.
    assert balances(student) == {
        AccountRole.RECEIVABLE: (60_000, 30_000),
        AccountRole.STUDENT_CREDIT: (30_000, 40_000),
    }
    audit = AuditEntry.objects.get(action="payment.recorded", target_id=payment.pk)
    assert audit.data == {
        "channel": "wechat_pay",
        "allocations": {str(first.pk): 10_000, str(second.pk): 20_000},
        "to_credit": 10_000,
    }
    assert (audit.actor_id, audit.amount, audit.organization_id) == (school.cashier.pk, 40_000, school.org.pk)
    report = verify_ledger()
    assert report.ok, report.problems


def test_returned_payment_carries_its_related_objects(school, two_orders, django_assert_num_queries):
    student, first, _second = two_orders
    payment = record_payment(
        actor=school.cashier,
        student=student,
        amount=5_000,
        channel="cash",
        allocations=[AllocationRequest(first.pk, 5_000)],
    )
    with django_assert_num_queries(0):
        assert payment.student is student
        assert payment.recorded_by is school.cashier
        assert payment.entry.code == EntryCode.PAYMENT_RECEIVED


def test_payment_runs_in_a_fixed_number_of_statements(school, two_orders):
    student, first, second = two_orders
    requests = [AllocationRequest(first.pk, 1_000), AllocationRequest(second.pk, 2_000)]
    record_payment(actor=school.cashier, student=student, amount=3_000, channel="cash", allocations=requests)
    with CaptureQueriesContext(transaction.get_connection()) as captured:
        record_payment(
            actor=school.cashier, student=student, amount=3_000, channel="cash", allocations=requests
        )
    statements = [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    # Orders, receipt number (with the payment's and allocations' keys), the accounts then the
    # chain head (with the entries' keys), and the writes: on PostgreSQL one statement; on SQLite
    # entries, postings, totals, chain head, payment, audit, allocations, orders.
    expected = 4 if connection.vendor == "postgresql" else 11
    assert len(statements) == expected, [s[:50] for s in statements]


def test_same_key_returns_the_first_payment_and_writes_nothing(school, two_orders):
    student, first, _second = two_orders
    kwargs = dict(
        actor=school.cashier,
        student=student,
        amount=4_000,
        channel="cash",
        allocations=[AllocationRequest(first.pk, 4_000)],
        idempotency_key="retry-me",
    )
    payment = record_payment(**kwargs)
    before = written()
    again = record_payment(**kwargs)
    assert again.pk == payment.pk
    assert written() == before


@pytest.mark.parametrize("case", ["other_student", "too_much", "cancelled", "twice", "over_payment"])
def test_refused_payments_write_nothing(school, two_orders, case):
    student, first, second = two_orders
    other_family = create_guardian(actor=school.principal, name="李爸爸", phone="13900000003")
    other = school.student(name="李四", guardian=other_family)
    others_order = order_for(school, other, 9_000)
    draft = create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="草稿", unit_price=1_000)],
        issue=False,
    )
    cancel_order(actor=school.cashier, order=draft, reason="typo")
    requests, error = {
        "other_student": ([AllocationRequest(others_order.pk, 1_000)], NotFound),
        "too_much": ([AllocationRequest(first.pk, 10_001)], ValidationFailed),
        "cancelled": ([AllocationRequest(draft.pk, 1_000)], Conflict),
        "twice": (
            [AllocationRequest(second.pk, 1_000), AllocationRequest(second.pk, 1_000)],
            ValidationFailed,
        ),
        "over_payment": (
            [AllocationRequest(first.pk, 6_000), AllocationRequest(second.pk, 6_000)],
            ValidationFailed,
        ),
    }[case]
    before = written()
    counter = Counter.objects.get(organization=school.org, name="receipt").value
    with pytest.raises(error):
        record_payment(
            actor=school.cashier, student=student, amount=10_000, channel="cash", allocations=requests
        )
    assert written() == before
    assert Counter.objects.get(organization=school.org, name="receipt").value == counter
    assert Order.objects.get(pk=first.pk).paid == 0


def test_reverse_and_credit_still_move_orders_back_and_forth(school, two_orders):
    student, first, second = two_orders
    payment = record_payment(
        actor=school.cashier,
        student=student,
        amount=35_000,
        channel="cash",
        allocations=[AllocationRequest(first.pk, 10_000), AllocationRequest(second.pk, 20_000)],
    )
    reverse_payment(actor=school.finance, payment=payment, reason="wrong student")
    first.refresh_from_db()
    second.refresh_from_db()
    assert [(first.paid, first.status), (second.paid, second.status)] == [
        (0, OrderStatus.OPEN),
        (0, OrderStatus.OPEN),
    ]
    record_payment(actor=school.cashier, student=student, amount=8_000, channel="cash", allocations=[])
    apply_credit(actor=school.cashier, student=student, order=second, amount=8_000)
    second.refresh_from_db()
    assert (second.paid, second.status) == (8_000, OrderStatus.PARTIALLY_PAID)
    report = verify_ledger()
    assert report.ok, report.problems


def test_post_entries_refuses_another_organizations_account_before_writing(school, other_school):
    mine = Account.objects.get(organization=school.org, role=AccountRole.OTHER_INCOME)
    theirs = Account.objects.get(organization=other_school.org, role=AccountRole.OTHER_INCOME)
    before = written()
    with pytest.raises(ValidationFailed) as refused, transaction.atomic():
        post_entries(
            organization_id=school.org.pk,
            actor=school.finance,
            drafts=[
                EntryDraft(code="LATE_FEE", idempotency_key="x", legs=[Leg(mine.pk, 1), Leg(theirs.pk, -1)])
            ],
        )
    assert refused.value.code == "account_unknown"
    assert written() == before


def test_post_entries_aggregates_totals_and_chains_several_entries(school):
    income = Account.objects.get(organization=school.org, role=AccountRole.OTHER_INCOME)
    cash = Account.objects.get(organization=school.org, role=AccountRole.CASH, campus=school.campus)
    with transaction.atomic():
        entries = post_entries(
            organization_id=school.org.pk,
            actor=school.finance,
            drafts=[
                EntryDraft(
                    code="LATE_FEE", idempotency_key="a", legs=[Leg(cash.pk, 300), Leg(income.pk, -300)]
                ),
                EntryDraft(
                    code="LATE_FEE",
                    idempotency_key="b",
                    legs=[Leg(income.pk, 100), Leg(cash.pk, -100)],
                    effective_date=datetime.date(2026, 1, 2),
                    memo="back",
                ),
            ],
        )
    assert [e.seq for e in entries] == [1, 2]
    assert entries[1].prev_hash == entries[0].hash
    assert entries[0].actor is school.finance
    for entry in entries:
        assert not entry._state.adding
        stored = JournalEntry.objects.get(pk=entry.pk)
        assert model_to_dict(stored) == model_to_dict(entry)
    cash.refresh_from_db()
    income.refresh_from_db()
    assert (cash.debits, cash.credits, income.debits, income.credits) == (300, 100, 100, 300)
    assert ChainHead.objects.get(organization=school.org).last_hash == entries[1].hash
    report = verify_ledger()
    assert report.ok, report.problems


def test_post_entries_duplicate_key_is_a_database_integrity_error(school):
    income = Account.objects.get(organization=school.org, role=AccountRole.OTHER_INCOME)
    cash = Account.objects.get(organization=school.org, role=AccountRole.CASH, campus=school.campus)
    draft = EntryDraft(code="LATE_FEE", idempotency_key="once", legs=[Leg(cash.pk, 5), Leg(income.pk, -5)])
    with transaction.atomic():
        post_entries(organization_id=school.org.pk, actor=None, drafts=[draft])
    with pytest.raises(IntegrityError), transaction.atomic():
        post_entries(organization_id=school.org.pk, actor=None, drafts=[draft])
    assert JournalEntry.objects.filter(idempotency_key="once").count() == 1


def test_next_number_counts_up_and_starts_missing_sequences(school):
    with transaction.atomic():
        assert [next_number(organization_id=school.org.pk, name="order") for _ in range(2)] == [1, 2]
        assert next_number(organization_id=school.org.pk, name="refund") == 1
        assert next_number(organization_id=school.org.pk, name="refund") == 2
    assert Counter.objects.get(organization=school.org, name="refund").value == 2


def test_post_entries_locks_its_accounts_and_the_head_then_writes_in_two_statements(school):
    income = Account.objects.get(organization=school.org, role=AccountRole.OTHER_INCOME)
    cash = Account.objects.get(organization=school.org, role=AccountRole.CASH, campus=school.campus)
    draft = EntryDraft(code="LATE_FEE", idempotency_key="fee", legs=[Leg(cash.pk, 300), Leg(income.pk, -300)])
    with CaptureQueriesContext(transaction.get_connection()) as captured, transaction.atomic():
        post_entries(organization_id=school.org.pk, actor=school.finance, drafts=[draft])
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))
    ]
    # The accounts then the chain head in one statement (SQLite: one read under its write lock),
    # then every write: on PostgreSQL one statement; on SQLite entries, postings, totals, head.
    assert len(statements) == (2 if connection.vendor == "postgresql" else 5), [s[:60] for s in statements]
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in statements[0]
    assert verify_ledger().ok
