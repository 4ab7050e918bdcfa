"""The demo school loads through the services, covers every state the desk shows, and loads once."""

import datetime
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from feedesk.attendance.calendar import statutory_holidays
from feedesk.attendance.models import AbsenceReason, Attendance, MakeupCredit, Session
from feedesk.attendance.selectors import renewal_warnings
from feedesk.billing.models import Order, OrderStatus
from feedesk.catalog.models import ClassGroup, Course, PriceModel, Subject
from feedesk.core.permissions import Role
from feedesk.demo import data
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole, ChainHead, EntryCode, JournalEntry, Posting
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


def test_sessions_roll_calls_absences_and_renewals(demo):
    org = demo
    now, today = timezone.now(), timezone.localdate()
    sessions = Session.objects.filter(organization=org)
    regular = sessions.filter(kind=Session.Kind.REGULAR)
    generated = {}  # class → the dates its weekly schedule gave, before any lesson was moved
    for group_id, origin in regular.values_list("class_group_id", "origin"):
        generated.setdefault(group_id, []).append(datetime.date.fromisoformat(origin.split("@")[0]))
    for group in ClassGroup.objects.filter(organization=org):
        dates = sorted(generated[group.pk])
        assert group.start_date <= dates[0] < group.start_date + datetime.timedelta(days=21)  # holidays
        assert group.end_date - datetime.timedelta(days=28) <= dates[-1] <= group.end_date
        assert len(dates) >= 12
    everything = [d for dates in generated.values() for d in dates]
    holidays, _provisional = statutory_holidays(min(everything), max(everything))
    assert holidays and not holidays & set(everything)
    # Staff called some lessons off, moved one to another day and had one taught by a substitute.
    cancelled = sessions.filter(status=Session.Status.CANCELLED)
    assert cancelled.exists() and not Attendance.objects.filter(session__in=cancelled).exists()
    assert regular.filter(original_date__isnull=False).exclude(note="").exists()
    assert any(s.instructor_id != s.class_group.instructor_id for s in regular.select_related("class_group"))

    marks = Attendance.objects.filter(organization=org, is_current=True)
    staff = marks.filter(set_by_role=Attendance.SetBy.STAFF)
    called = regular.filter(marks__in=staff).distinct()
    joined = {}  # class → when its first student (still enrolled) joined
    for enrolment in Enrolment.objects.filter(organization=org, status=Enrolment.Status.ACTIVE):
        first = joined.get(enrolment.class_group_id, enrolment.created_at)
        joined[enrolment.class_group_id] = min(first, enrolment.created_at)
    due = [  # past lessons of a class that had students by then
        s
        for s in regular.filter(status=Session.Status.SCHEDULED, date__lt=today)
        if s.class_group_id in joined
        and joined[s.class_group_id] < timezone.make_aware(datetime.datetime.combine(s.date, s.start_time))
    ]
    taken = set(called.values_list("pk", flat=True))
    assert len(taken) >= 0.8 * len(due), "most past lessons have had their roll call"
    assert any(s.pk not in taken for s in due), "a roll call is still to be taken"
    posted = {}  # session → the entries its staff marks recognised tuition in
    for session_id, entry_id in staff.exclude(entry=None).values_list("session_id", "entry_id"):
        posted.setdefault(session_id, set()).add(entry_id)
    assert len(posted) >= 0.8 * len(taken)
    for session in called.select_related("roll_call_entry"):
        starts = timezone.make_aware(datetime.datetime.combine(session.date, session.start_time))
        assert starts < session.roll_called_at <= now
        if session.pk in posted:  # one consumption entry for the whole roll call
            entry = session.roll_call_entry
            assert posted[session.pk] == {entry.pk} and entry.code == EntryCode.CONSUMPTION
            assert entry.effective_date == session.date and starts < entry.recorded_at <= now
    consumption = JournalEntry.objects.filter(organization=org, code=EntryCode.CONSUMPTION)
    assert consumption.count() >= len(posted) and len(set(e.recorded_at for e in consumption)) > 10

    # Mostly present; sick leave uses no hours, absence without notice does, personal leave grants
    # a make-up credit that some students have since spent at a make-up lesson.
    statuses = Counter(staff.values_list("status", flat=True))
    assert statuses[Attendance.Status.PRESENT] > 0.8 * sum(statuses.values())
    assert staff.filter(reason__code="sick").exists()
    assert all(m.hours == 0 for m in marks.filter(reason__code="sick"))
    no_shows = staff.filter(status=Attendance.Status.ABSENT, reason__code="no_show").select_related("session")
    assert no_shows and all(m.hours == m.session.hours for m in no_shows)
    assert MakeupCredit.objects.filter(organization=org, granted_by__reason__code="personal").exists()
    used = marks.filter(makeup_credit_used=True, session__kind=Session.Kind.EXTRA)
    assert used.exists() and all(m.hours == 0 and hasattr(m, "makeup_used") for m in used)
    # Each make-up lesson is held for the students owed one, and only they were marked.
    makeups = sessions.filter(kind=Session.Kind.EXTRA).prefetch_related("students")
    assert makeups.exists()
    for makeup in makeups:
        named = {s.pk for s in makeup.students.all()}
        assert named and set(marks.filter(session=makeup).values_list("student_id", flat=True)) <= named

    # Families reported leave in the portal, with reasons they may use, some for lessons to come.
    reported = marks.exclude(set_by_role=Attendance.SetBy.STAFF).select_related("reason", "session")
    assert all(m.reason.usable_by_students for m in reported)
    coming = [
        m
        for m in reported.filter(session__date__gte=today)
        if timezone.make_aware(datetime.datetime.combine(m.session.date, m.session.start_time)) > now
    ]
    assert len(coming) >= 2
    guardian = Guardian.objects.get(organization=org, phone=data.GUARDIAN_PHONE)
    children = set(guardian.students.values_list("pk", flat=True))
    assert any(
        m.student_id in children and m.set_by == guardian.user and m.set_by_role == Attendance.SetBy.GUARDIAN
        for m in coming
    )
    assert AbsenceReason.objects.filter(organization=org, usable_by_students=False).exists()

    # 续费预警: some students' hours are (nearly) used up, two lesson cards expire soon.
    warnings = [
        w for _adviser, group in renewal_warnings(user=User.objects.get(username="principal")) for w in group
    ]
    assert any(w.low_hours for w in warnings) and sum(w.expiring for w in warnings) >= 2
    assert Enrolment.objects.filter(organization=org, consumed_hours__gt=0).count() > 20

    report = verify_ledger(organization_id=org.pk)
    assert report.ok, report.problems


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
