"""The demo school loads through the services, covers every state the desk shows, and loads once."""

import datetime
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from feedesk.billing.models import Order, OrderStatus
from feedesk.catalog.models import ClassGroup, Course, PriceModel, Subject
from feedesk.core.permissions import Role
from feedesk.demo import data
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole, ChainHead, JournalEntry, Posting
from feedesk.ledger.selectors import verify_ledger
from feedesk.organizations.models import Campus, Organization
from feedesk.payments.models import Allocation, Channel, Payment
from feedesk.payments.selectors import student_account
from feedesk.people.models import Guardian, Student
from feedesk.users.models import User

STUDENTS = 40
NOW = datetime.datetime(2026, 11, 21, 6, 0, tzinfo=datetime.UTC)


def load(**options: object) -> str:
    out = io.StringIO()
    call_command("load_demo", students=STUDENTS, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo(db) -> Organization:
    load()
    return Organization.objects.get(slug=data.ORGANIZATION_SLUG)


def test_catalog_people_and_staff(demo):
    org = demo
    assert org.name == "启明教育培训中心"
    assert Campus.objects.filter(organization=org).count() == 2
    assert Subject.objects.filter(organization=org).exclude(name_en="").count() >= 6
    courses = Course.objects.filter(organization=org)
    assert courses.count() >= 12
    assert set(courses.values_list("price_model", flat=True)) == set(PriceModel.values)
    assert courses.filter(price_model=PriceModel.PACKAGE, gift_hours__gt=0).exists()
    assert courses.filter(materials_fee__gt=0).exists() and courses.filter(registration_fee__gt=0).exists()
    classes = ClassGroup.objects.filter(organization=org)
    assert classes.count() >= 20
    assert set(classes.values_list("campus__code", flat=True)) == {"haidian", "chaoyang"}
    today = timezone.localdate()
    assert all(c.start_date <= today <= c.end_date and c.schedule.exists() for c in classes)
    active = Counter(
        Enrolment.objects.filter(organization=org, status=Enrolment.Status.ACTIVE).values_list(
            "class_group_id", flat=True
        )
    )
    assert any(active[c.pk] == c.capacity for c in classes), "some class is full"
    assert all(active[c.pk] <= c.capacity for c in classes)

    assert Student.objects.filter(organization=org).count() == STUDENTS
    siblings = [g for g in Guardian.objects.filter(organization=org) if g.students.count() >= 2]
    assert len(siblings) >= 2
    roles = {u.username: u.role for u in User.objects.filter(organization=org)}
    for username, role in [
        ("principal", Role.PRINCIPAL),
        ("finance", Role.FINANCE),
        ("cashier", Role.CASHIER),
        ("adviser", Role.ADVISER),
        ("headteacher", Role.HEAD_TEACHER),
        ("teacher", Role.INSTRUCTOR),
    ]:
        assert roles[username] == role
        assert User.objects.get(username=username).check_password(data.DEMO_PASSWORD)
    assert User.objects.filter(organization=org, language="en").exists()


def test_money_covers_every_state_and_the_ledger_verifies(demo):
    org = demo
    orders = Order.objects.filter(organization=org)
    assert set(orders.values_list("status", flat=True)) == set(OrderStatus.values)
    today = timezone.localdate()
    payable = orders.filter(status__in=[OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID])
    assert payable.filter(due_date__lt=today).exists() and payable.filter(due_date__gte=today).exists()
    assert orders.filter(on_account=True).exists()
    assert orders.filter(online_payable=True).exclude(external_notes="").exists()
    assert orders.filter(lines__discount_amount__gt=0).exists()
    payments = Payment.objects.filter(organization=org)
    assert set(payments.values_list("channel", flat=True)) == set(Channel.values)
    assert payments.filter(status=Payment.Status.REVERSED).exclude(reversal_reason="").exists()
    assert payments.filter(received_at__date__gte=today - timezone.timedelta(days=1)).exists()
    by_payment = Counter(
        Allocation.objects.filter(organization=org, payment__isnull=False, amount__gt=0).values_list(
            "payment_id", flat=True
        )
    )
    assert max(by_payment.values()) >= 2, "some payment pays several orders"
    assert Allocation.objects.filter(organization=org, payment__isnull=True).exists(), "credit applied"
    credits = Account.objects.filter(organization=org, role=AccountRole.STUDENT_CREDIT)
    assert any(a.balance > 0 for a in credits)

    guardian = Guardian.objects.get(organization=org, phone=data.GUARDIAN_PHONE)
    children = list(guardian.students.all())
    assert len(children) >= 2
    assert all(student_account(student=child).balance_due > 0 for child in children)
    assert guardian.user is not None and guardian.user.username == data.GUARDIAN_PHONE
    assert guardian.user.role == "" and guardian.user.check_password(data.DEMO_PASSWORD)

    report = verify_ledger()
    assert report.ok, report.problems
    assert report.entries_checked == JournalEntry.objects.filter(organization=org).count() > 0


def test_second_run_changes_nothing_and_prints_the_logins(demo):
    def snapshot() -> tuple:
        head = ChainHead.objects.get(organization=demo)
        return (
            head.last_seq,
            head.last_hash,
            *(
                model.objects.count()
                for model in (Organization, User, Student, Guardian, Order, Payment, Allocation, Posting)
            ),
        )

    before = snapshot()
    output = load()
    assert snapshot() == before
    assert "DEMO" in output
    for username in ("principal", "finance", "cashier", "adviser", "headteacher", "teacher"):
        assert username in output
    assert data.GUARDIAN_PHONE in output and data.DEMO_PASSWORD in output
    assert "http://127.0.0.1:8000" in output


def test_the_plan_depends_only_on_the_seed():
    from feedesk.demo.services import _Loader

    def plan(seed: int) -> list[tuple]:
        loader = _Loader(rng=random.Random(seed), students=STUDENTS, real_now=NOW)
        plans = loader.plan_families()
        loader.assign_classes(plans)
        return [(p.name, p.phone, p.school, p.registered, tuple(p.classes), p.guardians) for p in plans]

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)
