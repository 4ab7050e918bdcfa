"""Random sequences of money operations never break the ledger's invariants (rules 2, 5, 8, 9)."""

import datetime
import itertools
from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from moneycheck import assert_ledger_invariants, nothing_written

from feedesk.billing.models import Order, OrderLine, OrderStatus
from feedesk.billing.services import Discount, DiscountKind, LineDraft, cancel_order, create_order
from feedesk.core.errors import DomainError
from feedesk.core.money import percentage_of
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import Account, AccountRole
from feedesk.payments.models import Payment
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment

SLUGS = itertools.count()
CHANNELS = ["cash", "wechat_pay", "alipay", "pos", "bank_transfer"]
PAYABLE = (OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID)


class MoneyMachine(RuleBasedStateMachine):
    """Drives the services and keeps its own model of what every order and student should hold."""

    school_type: type = type(None)  # the conftest School, set by the test

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint that is rolled back, so examples never see each other.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.school = self.school_type(slug=f"prop{next(SLUGS)}")
        self.students = [self.school.student(name=name) for name in ("张三", "李四")]
        self.classes = [self.school.klass, self.school.lesson_class]
        self.paid: dict[int, int] = {}  # order pk → what the model says is allocated to it
        self.cancelled: set[int] = set()
        self.credit = {s.pk: 0 for s in self.students}
        self.payments: list[int] = []
        self.reversed: set[int] = set()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # Helpers ----------------------------------------------------------------------------------

    def orders_of(self, student) -> list[Order]:
        return list(Order.objects.filter(student=student).order_by("pk"))

    def payable(self, student) -> list[Order]:
        return [o for o in self.orders_of(student) if o.status in PAYABLE]

    def refused(self, call) -> None:
        with nothing_written():
            try:
                call()
            except DomainError as error:
                assert error.code and str(error.message)
            else:
                raise AssertionError("the operation should have been refused")

    # Rules ------------------------------------------------------------------------------------

    @rule(
        data=st.data(),
        student=st.integers(0, 1),
        klass=st.integers(0, 1),
        discount=st.one_of(st.none(), st.integers(0, 10_000), st.integers(1, 60_000)),
    )
    def enrol(self, data, student, klass, discount):
        kind = None
        if discount is not None:
            kind = (
                DiscountKind.PERCENT
                if discount <= 10_000 and data.draw(st.booleans())
                else DiscountKind.FIXED
            )
        hours = data.draw(st.integers(1, 7)) if klass == 1 else None
        tuition = 15_000 * hours if hours else 576_000
        due = datetime.date(2026, 9, 1) + datetime.timedelta(days=data.draw(st.integers(0, 60)))
        call = lambda: enrol_student(  # noqa: E731
            actor=self.school.cashier,
            student=self.students[student],
            class_group=self.classes[klass],
            hours=Decimal(hours) if hours else None,
            discount=Discount(kind, discount) if kind else None,
            due_date=due,
        )
        enrolled = (
            self.classes[klass].enrolments.filter(student=self.students[student], status="active").exists()
        )
        off = percentage_of(tuition, discount) if kind == DiscountKind.PERCENT else discount or 0
        materials = 12_000 if klass == 0 else 0
        # A discount above the tuition is refused, and so is an order that would total nothing.
        if enrolled or off > tuition or tuition - off + materials <= 0:
            self.refused(call)
            return
        _enrolment, order = call()
        self.paid[order.pk] = 0

    @rule(
        student=st.integers(0, 1),
        prices=st.lists(st.integers(1, 99_999), min_size=1, max_size=4),
        percent=st.one_of(st.none(), st.integers(0, 9_999)),
        days=st.integers(0, 60),
    )
    def manual_order(self, student, prices, percent, days):
        call = lambda: create_order(  # noqa: E731
            actor=self.school.cashier,
            student=self.students[student],
            lines=[
                LineDraft(kind=OrderLine.Kind.OTHER, description=f"项目{i}", unit_price=p)
                for i, p in enumerate(prices)
            ],
            discount=Discount(DiscountKind.PERCENT, percent) if percent is not None else None,
            due_date=datetime.date(2026, 9, 1) + datetime.timedelta(days=days),
        )
        if sum(prices) - percentage_of(sum(prices), percent or 0) <= 0:
            self.refused(call)  # rounding can discount a one-fen order to nothing
            return
        order = call()
        assert sum(line.net_amount for line in order.lines.all()) == order.total
        self.paid[order.pk] = 0

    @rule(data=st.data(), student=st.integers(0, 1), channel=st.sampled_from(CHANNELS))
    def pay_explicitly(self, data, student, channel):
        who = self.students[student]
        payable = self.payable(who)
        chosen = (
            data.draw(st.lists(st.sampled_from(payable), max_size=3, unique_by=lambda o: o.pk))
            if payable
            else []
        )
        requests = [AllocationRequest(o.pk, data.draw(st.integers(1, o.balance))) for o in chosen]
        extra = data.draw(st.integers(0, 30_000))
        amount = sum(r.amount for r in requests) + extra
        if amount == 0:
            return
        bad = data.draw(st.sampled_from([None, None, None, "over_balance", "over_payment"]))
        if bad == "over_balance" and chosen:
            requests[0] = AllocationRequest(chosen[0].pk, chosen[0].balance + 1)
            amount = max(amount, sum(r.amount for r in requests))
        elif bad == "over_payment" and requests:
            amount = sum(r.amount for r in requests) - 1
        else:
            bad = None
        call = lambda: record_payment(  # noqa: E731
            actor=self.school.cashier, student=who, amount=amount, channel=channel, allocations=requests
        )
        if bad or amount <= 0:
            self.refused(call)
            return
        payment = call()
        self.payments.append(payment.pk)
        for r in requests:
            self.paid[r.order_id] += r.amount
        self.credit[who.pk] += amount - sum(r.amount for r in requests)

    @rule(student=st.integers(0, 1), amount=st.integers(1, 800_000), channel=st.sampled_from(CHANNELS))
    def pay_oldest_first(self, student, amount, channel):
        who = self.students[student]
        left = amount
        for order in sorted(self.payable(who), key=lambda o: (o.due_date, o.number)):
            take = min(left, order.balance)
            self.paid[order.pk] += take
            left -= take
        payment = record_payment(actor=self.school.cashier, student=who, amount=amount, channel=channel)
        self.payments.append(payment.pk)
        self.credit[who.pk] += left

    @rule(data=st.data(), student=st.integers(0, 1))
    def use_credit(self, data, student):
        who = self.students[student]
        payable = self.payable(who)
        if not payable:
            return
        order = data.draw(st.sampled_from(payable))
        credit = self.credit[who.pk]
        amount = data.draw(st.integers(1, max(1, order.balance + 1)))
        call = lambda: apply_credit(actor=self.school.cashier, student=who, order=order, amount=amount)  # noqa: E731
        if amount > credit or amount > order.balance:
            self.refused(call)
            return
        call()
        self.paid[order.pk] += amount
        self.credit[who.pk] -= amount

    @rule(data=st.data())
    def cancel(self, data):
        orders = list(Order.objects.filter(organization=self.school.org).order_by("pk"))
        if not orders:
            return
        order = data.draw(st.sampled_from(orders))
        call = lambda: cancel_order(actor=self.school.cashier, order=order, reason="property test")  # noqa: E731
        if order.paid or order.status == OrderStatus.CANCELLED:
            self.refused(call)
            return
        call()
        self.cancelled.add(order.pk)

    @rule(data=st.data())
    def reverse(self, data):
        if not self.payments:
            return
        payment = Payment.objects.get(pk=data.draw(st.sampled_from(self.payments)))
        allocations = list(payment.allocations.filter(amount__gt=0))
        unallocated = payment.amount - sum(a.amount for a in allocations)
        call = lambda: reverse_payment(actor=self.school.finance, payment=payment, reason="property test")  # noqa: E731
        if payment.pk in self.reversed or self.credit[payment.student_id] < unallocated:
            self.refused(call)
            return
        call()
        self.reversed.add(payment.pk)
        for a in allocations:
            self.paid[a.order_id] -= a.amount
        self.credit[payment.student_id] -= unallocated

    # Invariants -------------------------------------------------------------------------------

    @invariant()
    def ledger_agrees_with_the_model(self):
        assert_ledger_invariants(self.school.org.pk)
        for order in Order.objects.filter(organization=self.school.org):
            assert order.paid == self.paid[order.pk], f"order #{order.number}"
            if order.pk in self.cancelled:
                assert order.status == OrderStatus.CANCELLED
            else:
                expected = (
                    OrderStatus.OPEN
                    if order.paid == 0
                    else OrderStatus.PAID
                    if order.paid == order.total
                    else OrderStatus.PARTIALLY_PAID
                )
                assert order.status == expected, f"order #{order.number}"
        credit_accounts = Account.objects.filter(
            organization=self.school.org, role=AccountRole.STUDENT_CREDIT
        )
        rows = credit_accounts.values_list("student_id", "debits", "credits")
        assert {student: c - d for student, d, c in rows} == self.credit


def test_random_operation_sequences_keep_the_ledger_consistent(school, monkeypatch):
    monkeypatch.setattr(MoneyMachine, "school_type", type(school))
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
