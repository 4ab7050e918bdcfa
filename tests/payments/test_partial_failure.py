"""A failure after the first writes of a money operation leaves nothing behind."""

import pytest
from moneycheck import assert_ledger_invariants, nothing_written

from feedesk.billing import services as billing_services
from feedesk.billing.models import OrderLine
from feedesk.billing.services import LineDraft, cancel_order, create_order, issue_order
from feedesk.core import sql
from feedesk.enrolment import services as enrolment_services
from feedesk.enrolment.services import enrol_student
from feedesk.payments import services as payment_services
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment


class Boom(Exception):
    pass


def fail_on_call(monkeypatch, target, name, *, call=1, when=None):
    """Make `target.name` raise on its `call`-th matching call (every one when 0), after its real work."""
    real = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        if when is None or when(*args, **kwargs):
            calls["n"] += 1
            if call in (0, calls["n"]):
                raise Boom(name)
        return result

    monkeypatch.setattr(target, name, wrapper)
    return calls


def other_order(school, student, amount, issue=True):
    return create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="杂费", unit_price=amount)],
        issue=issue,
    )


@pytest.fixture
def setup(school):
    student = school.student()
    orders = [other_order(school, student, 30_000), other_order(school, student, 20_000)]
    return school, student, orders


def rows_of(model):
    return lambda *args, **kwargs: (args[0] if args else kwargs.get("model")) is model


def postings_written():
    """Where a posting's rows are written: their own INSERT on SQLite; on PostgreSQL the one
    statement that writes the entries, their postings, the totals and the chain head."""
    return "_run", lambda statement, *args, **kwargs: "INSERT" in statement and "ledger_posting" in statement


POSTINGS = "postings"


def action_is(action):
    return lambda **kwargs: kwargs.get("action") == action


@pytest.mark.parametrize(
    ("target", "name", "call", "when"),
    [
        (enrolment_services, "record_audit", 1, None),
        (billing_services, "record_audit", 1, action_is("order.issued")),
        (billing_services, "post_entries", 1, None),
        (sql, POSTINGS, 1, None),
    ],
)
def test_enrolment_failing_late_leaves_nothing(school, monkeypatch, target, name, call, when):
    student = school.student()
    if name == POSTINGS:
        name, when = postings_written()
    fail_on_call(monkeypatch, target, name, call=call, when=when)
    with nothing_written(), pytest.raises(Boom):
        enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    assert_ledger_invariants(school.org.pk)


@pytest.mark.parametrize(
    ("target", "name", "when"),
    [
        (payment_services, "new_audit_entry", None),
        (payment_services, "post_entries", None),
        # SQLite: after the entries, payment and audit row; PostgreSQL: the posting's one statement.
        (sql, "_run", lambda statement, *args, **kwargs: 'INSERT INTO "payments_allocation"' in statement),
        # The first order is already updated when the second one's status is computed.
        (payment_services, "status_after_payment", None),
    ],
)
def test_record_payment_failing_late_leaves_nothing(setup, monkeypatch, target, name, when):
    school, student, (a, b) = setup
    calls = fail_on_call(
        monkeypatch, target, name, call=2 if name == "status_after_payment" else 1, when=when
    )
    with nothing_written(), pytest.raises(Boom):
        record_payment(
            actor=school.cashier,
            student=student,
            amount=60_000,
            channel="cash",
            allocations=[AllocationRequest(a.pk, 30_000), AllocationRequest(b.pk, 20_000)],
        )
    assert calls["n"] >= 1
    assert_ledger_invariants(school.org.pk)


@pytest.mark.parametrize("name", ["record_audit", "post_entries", "_apply_to_orders"])
def test_apply_credit_failing_late_leaves_nothing(setup, monkeypatch, name):
    school, student, (a, _b) = setup
    record_payment(actor=school.cashier, student=student, amount=10_000, channel="cash", allocations=[])
    fail_on_call(monkeypatch, payment_services, name)
    with nothing_written(), pytest.raises(Boom):
        apply_credit(actor=school.cashier, student=student, order=a, amount=10_000)
    assert_ledger_invariants(school.org.pk)


@pytest.mark.parametrize(
    ("name", "call"), [("record_audit", 1), ("post_entries", 1), ("status_after_payment", 2)]
)
def test_reverse_payment_failing_late_leaves_nothing(setup, monkeypatch, name, call):
    school, student, _orders = setup
    payment = record_payment(actor=school.cashier, student=student, amount=60_000, channel="cash")
    fail_on_call(monkeypatch, payment_services, name, call=call)
    with nothing_written(), pytest.raises(Boom):
        reverse_payment(actor=school.finance, payment=payment, reason="wrong student")
    assert_ledger_invariants(school.org.pk)


@pytest.mark.parametrize("name", ["record_audit", "post_entries"])
def test_issue_and_cancel_failing_late_leave_nothing(setup, monkeypatch, name):
    school, student, (a, _b) = setup
    draft = other_order(school, student, 5_000, issue=False)
    fail_on_call(monkeypatch, billing_services, name, call=0)
    with nothing_written(), pytest.raises(Boom):
        issue_order(actor=school.cashier, order=draft)
    with nothing_written(), pytest.raises(Boom):
        cancel_order(actor=school.cashier, order=a, reason="x")
    with nothing_written(), pytest.raises(Boom):
        other_order(school, student, 5_000)
    assert_ledger_invariants(school.org.pk)


@pytest.mark.django_db(transaction=True)
def test_a_committed_transaction_is_all_or_nothing(school, monkeypatch):
    # Outside the test's own transaction: the service's atomic block is the real commit boundary.
    student = school.student()
    order = other_order(school, student, 30_000)
    # The last step: the posting, with the payment, its allocation, the order and the audit row.
    fail_on_call(monkeypatch, payment_services, "post_entries")
    with nothing_written(), pytest.raises(Boom):
        record_payment(
            actor=school.cashier,
            student=student,
            amount=30_000,
            channel="cash",
            allocations=[AllocationRequest(order.pk, 30_000)],
        )
    assert_ledger_invariants(school.org.pk)
