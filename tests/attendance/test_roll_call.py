"""Roll call, corrections, refusals, student-reported absences, arrears and expiry."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from feedesk.attendance.models import Attendance, MakeupCredit
from feedesk.attendance.selectors import hours_position, renewal_warnings
from feedesk.attendance.services import (
    Mark,
    expire_enrolments,
    record_attendance,
    report_absence,
    take_roll_call,
)
from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order, OrderLine
from feedesk.catalog.models import Course
from feedesk.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import EntryCode, JournalEntry, Posting
from feedesk.ledger.selectors import verify_ledger


def snapshot():
    return (
        JournalEntry.objects.count(),
        Attendance.objects.count(),
        list(Enrolment.objects.order_by("pk").values_list("consumed_hours", "recognised_amount")),
    )


def test_one_roll_call_is_one_balanced_consumption_entry(school, hours):
    students = [hours.enrol(name=n)[0] for n in ("甲", "乙", "丙")]
    session = hours.session()
    result = take_roll_call(
        actor=school.instructor,
        session=session,
        marks=[
            Mark(students[0].pk, "present"),
            Mark(students[1].pk, "absent", "no_show"),
            Mark(students[2].pk, "leave", "sick"),
        ],
    )
    [entry] = result.entries
    assert entry.code == EntryCode.CONSUMPTION
    legs = sorted(Posting.objects.filter(entry=entry).values_list("amount", flat=True))
    assert legs == [-24_000, 12_000, 12_000]
    assert result.recognised == 24_000
    assert [m.hours for m in result.marks] == [Decimal(1), Decimal(1), Decimal(0)]
    assert AuditEntry.objects.filter(action="attendance.recorded", target_id=session.pk).count() == 1
    # Taking the same roll call again changes nothing.
    again = take_roll_call(actor=school.instructor, session=session, marks=[Mark(students[0].pk, "present")])
    assert (again.unchanged, again.entries) == (1, [])
    assert verify_ledger().ok


def test_correction_posts_a_reversal_then_a_new_entry_and_is_audited(school, hours):
    student, enrolment, _order = hours.enrol()
    session = hours.session()
    first = record_attendance(
        actor=school.instructor, session=session, student=student, status="present"
    ).mark
    assert first.amount == 12_000
    corrected = record_attendance(
        actor=school.head_teacher, session=session, student=student, status="leave", reason_code="sick"
    ).mark
    first.refresh_from_db()
    assert not first.is_current and corrected.replaces == first and corrected.hours == 0
    reversal = JournalEntry.objects.get(code=EntryCode.REVERSAL)
    assert reversal.reverses == first.entry
    assert sorted(Posting.objects.filter(entry=reversal).values_list("amount", flat=True)) == [
        -12_000,
        12_000,
    ]
    position = hours_position(Enrolment.objects.get(pk=enrolment.pk))
    assert (position.consumed_hours, position.recognised_amount, position.deferred_amount) == (0, 0, 576_000)
    # Back to present: a new consumption entry; the history keeps all three marks.
    record_attendance(actor=school.head_teacher, session=session, student=student, status="present")
    assert JournalEntry.objects.filter(code=EntryCode.CONSUMPTION).count() == 2
    assert Attendance.objects.filter(session=session).count() == 3
    assert AuditEntry.objects.filter(action="attendance.corrected").count() == 2
    assert hours_position(Enrolment.objects.get(pk=enrolment.pk)).recognised_amount == 12_000
    assert verify_ledger().ok


def test_refusals_change_nothing(school, other_school, hours):
    student, _enrolment, _order = hours.enrol()
    outsider = school.student(name="旁听生")
    session = hours.session()
    other_session = hours.session(klass=school.lesson_class)
    before = snapshot()
    cases = [
        # a session of another organization
        (NotFound, dict(actor=other_school.instructor, session=session, student=student, status="present")),
        # a student not enrolled in the class
        (
            ValidationFailed,
            dict(actor=school.instructor, session=session, student=outsider, status="present"),
        ),
        (
            ValidationFailed,
            dict(actor=school.instructor, session=other_session, student=student, status="present"),
        ),
        # an unknown reason, and a reason on a present mark
        (
            ValidationFailed,
            dict(
                actor=school.instructor, session=session, student=student, status="absent", reason_code="nope"
            ),
        ),
        (
            ValidationFailed,
            dict(
                actor=school.instructor,
                session=session,
                student=student,
                status="present",
                reason_code="sick",
            ),
        ),
        (ValidationFailed, dict(actor=school.instructor, session=session, student=student, status="late")),
        # roles that do not take attendance, or may not bill arrears
        (PermissionDenied, dict(actor=school.adviser, session=session, student=student, status="present")),
        (PermissionDenied, dict(actor=school.finance, session=session, student=student, status="present")),
        (
            PermissionDenied,
            dict(
                actor=school.instructor,
                session=session,
                student=student,
                status="present",
                allow_overdraw=True,
            ),
        ),
    ]
    for error, kwargs in cases:
        with pytest.raises(error) as refused:
            record_attendance(**kwargs)
        assert refused.value.message, kwargs
    # the student's guardian may not pick a reason kept for staff
    with pytest.raises(PermissionDenied) as refused:
        report_absence(
            reporter=school.guardian,
            session=hours.session(date=timezone.localdate() + datetime.timedelta(days=3)),
            student=student,
            reason_code="sick",
        )
    assert refused.value.code == "reason_not_allowed"
    assert snapshot() == before


def test_instructors_only_for_their_own_sessions(school, hours):
    from feedesk.users.models import User

    student, _e, _o = hours.enrol()
    stranger = User.objects.create_user("t2", organization=school.org, role="instructor")
    session = hours.session()
    with pytest.raises(PermissionDenied) as refused:
        record_attendance(actor=stranger, session=session, student=student, status="present")
    assert refused.value.code == "not_your_class"
    session.instructor = stranger
    session.save(update_fields=["instructor"])
    assert (
        record_attendance(actor=stranger, session=session, student=student, status="present").mark.hours == 1
    )


def test_future_sessions_wait_for_the_roll_call_window(school, hours):
    student, _e, _o = hours.enrol()
    tomorrow = hours.session(date=timezone.localdate() + datetime.timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        record_attendance(actor=school.instructor, session=tomorrow, student=student, status="present")
    assert refused.value.code == "session_not_started"
    start = datetime.datetime.combine(
        tomorrow.date, tomorrow.start_time, tzinfo=timezone.get_current_timezone()
    )
    result = take_roll_call(
        actor=school.instructor,
        session=tomorrow,
        marks=[Mark(student.pk, "present")],
        now=start - datetime.timedelta(minutes=20),
    )
    assert result.recognised == 12_000


def test_going_past_zero_needs_permission_and_bills_arrears(school, hours):
    student, enrolment, first_order = hours.enrol(klass=school.lesson_class, hours=Decimal(1))
    s1, s2 = hours.session(klass=school.lesson_class), hours.session(klass=school.lesson_class)
    record_attendance(actor=school.instructor, session=s1, student=student, status="present")
    with pytest.raises(Conflict) as refused:
        record_attendance(actor=school.head_teacher, session=s2, student=student, status="present")
    assert refused.value.code == "hours_exhausted" and "has 0 hours left" in str(refused.value.message)
    mark = record_attendance(
        actor=school.cashier, session=s2, student=student, status="present", allow_overdraw=True
    ).mark
    assert mark.hours == 1
    arrears = Order.objects.filter(enrolment=enrolment).exclude(pk=first_order.pk).get()
    assert arrears.total == 15_000 and arrears.lines.get().kind == OrderLine.Kind.TUITION
    position = hours_position(Enrolment.objects.get(pk=enrolment.pk))
    assert (position.purchased_hours, position.consumed_hours, position.remaining_hours) == (2, 2, 0)
    assert (position.deferred_amount, position.recognised_amount) == (0, 30_000)
    report = verify_ledger()
    assert report.ok, report.problems


def test_student_reported_leave_cutoff_staff_final_and_makeup_credit(school, hours):
    student, enrolment, _o = hours.enrol()
    soon = hours.session(date=timezone.localdate() + datetime.timedelta(days=2))
    mark = report_absence(reporter=school.guardian, session=soon, student=student, reason_code="personal")
    assert (mark.set_by_role, mark.status, mark.hours) == ("guardian", "leave", 1)
    credit = MakeupCredit.objects.get(enrolment=enrolment)
    assert credit.expires_on == soon.date + datetime.timedelta(days=30)
    # staff mark it; the guardian can no longer change it
    start = datetime.datetime.combine(soon.date, soon.start_time, tzinfo=timezone.get_current_timezone())
    take_roll_call(
        actor=school.instructor, session=soon, marks=[Mark(student.pk, "leave", "personal")], now=start
    )
    assert Attendance.objects.get(session=soon, is_current=True).set_by_role == "guardian"  # unchanged
    take_roll_call(
        actor=school.instructor, session=soon, marks=[Mark(student.pk, "absent", "personal")], now=start
    )
    with pytest.raises(Conflict) as refused:
        report_absence(reporter=student, session=soon, student=student, reason_code="personal")
    assert refused.value.code == "mark_set_by_staff"
    # after the cut-off nobody outside the school reports
    today = hours.session(date=timezone.localdate())
    with pytest.raises(Conflict) as late:
        report_absence(
            reporter=school.guardian,
            session=today,
            student=student,
            reason_code="personal",
            now=datetime.datetime.combine(
                today.date, today.start_time, tzinfo=timezone.get_current_timezone()
            ),
        )
    assert late.value.code == "absence_cutoff_passed"
    # the make-up credit (re-granted by the staff mark) makes one attendance free
    makeup = hours.session()
    used = record_attendance(
        actor=school.instructor, session=makeup, student=student, status="present", use_makeup_credit=True
    ).mark
    assert used.hours == 0 and MakeupCredit.objects.get(used_by=used)
    with pytest.raises(DomainError):
        record_attendance(
            actor=school.instructor,
            session=hours.session(),
            student=student,
            status="present",
            use_makeup_credit=True,
        )
    assert verify_ledger().ok


def test_expiry_recognises_the_rest_once(school, hours):
    Course.objects.filter(pk=school.package_course.pk).update(expiry_applies=True)
    student, enrolment, _o = hours.enrol(valid_until=datetime.date(2026, 7, 1))
    _s2, _e2, _o2 = hours.enrol(name="不过期")  # no validity date: never expires
    for _ in range(3):
        record_attendance(actor=school.instructor, session=hours.session(), student=student, status="present")
    assert expire_enrolments(as_of=datetime.date(2026, 7, 1)) == []  # still valid that day
    assert expire_enrolments(as_of=datetime.date(2026, 7, 2)) == [enrolment.pk]
    call_command("expire_hours", "--as-of", "2026-07-03")
    assert expire_enrolments(as_of=datetime.date(2026, 7, 4)) == []
    [entry] = JournalEntry.objects.filter(code=EntryCode.EXPIRY)
    assert sorted(Posting.objects.filter(entry=entry).values_list("amount", flat=True)) == [-540_000, 540_000]
    position = hours_position(Enrolment.objects.get(pk=enrolment.pk))
    assert (position.deferred_amount, position.recognised_amount) == (0, 576_000)
    with pytest.raises(Conflict) as refused:
        record_attendance(
            actor=school.instructor,
            session=hours.session(date=datetime.date(2026, 6, 30)),
            student=student,
            status="absent",
        )
    assert refused.value.code == "enrolment_expired"
    assert verify_ledger().ok


def test_renewal_warnings_group_low_hours_and_expiry_by_adviser(school, hours):
    student, enrolment, _o = hours.enrol(klass=school.lesson_class, hours=Decimal(5))
    Enrolment.objects.filter(pk=enrolment.pk).update(adviser=school.adviser)
    _s, _plenty, _o2 = hours.enrol(name="充足")
    _expiring_student, expiring, _o3 = hours.enrol(
        name="将过期", valid_until=timezone.localdate() + datetime.timedelta(days=10)
    )
    record_attendance(
        actor=school.instructor,
        session=hours.session(klass=school.lesson_class),
        student=student,
        status="present",
    )
    groups = dict((adviser, items) for adviser, items in renewal_warnings(user=school.principal))
    assert [w.enrolment.pk for w in groups[school.adviser]] == [enrolment.pk]
    assert groups[school.adviser][0].low_hours and groups[school.adviser][0].remaining_hours == 4
    assert [w.enrolment.pk for w in groups[None]] == [expiring.pk] and groups[None][0].expiring
    assert [a for a, _items in renewal_warnings(user=school.adviser)] == [school.adviser]


def test_attendance_roles_never_move_money(school):
    from feedesk.core.permissions import MONEY_CAPABILITIES, Capability, has_capability

    for user in (school.instructor, school.head_teacher):
        assert has_capability(user, Capability.TAKE_ATTENDANCE)
        assert not any(has_capability(user, cap) for cap in MONEY_CAPABILITIES)
        assert not has_capability(user, Capability.OVERDRAW_HOURS)
    assert not has_capability(school.adviser, Capability.TAKE_ATTENDANCE)


def test_verify_reports_recognition_drift(school, hours):
    student, enrolment, _o = hours.enrol()
    record_attendance(actor=school.instructor, session=hours.session(), student=student, status="present")
    assert verify_ledger().ok
    Enrolment.objects.filter(pk=enrolment.pk).update(recognised_amount=1)
    checks = {p["check"] for p in verify_ledger().problems}
    assert {"recognised_matches_ledger", "deferred_matches_hours"} <= checks


def test_correcting_a_mark_that_recognised_nothing_keeps_the_fen(school, hours):
    from feedesk.catalog.services import create_class, create_course

    course = create_course(
        actor=school.principal,
        subject=school.subject,
        name="一分钱三课时",
        price_model="package",
        package_hours=Decimal(3),
        package_price=1,
    )
    klass = create_class(
        actor=school.principal,
        course=course,
        campus=school.campus,
        name="舍入班",
        instructor=school.instructor,
        capacity=3,
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        schedule=[(5, datetime.time(9), datetime.time(10))],
    )
    student, enrolment, _o = hours.enrol(klass=klass)
    first, second = hours.session(klass=klass), hours.session(klass=klass)
    a = record_attendance(actor=school.instructor, session=first, student=student, status="present").mark
    b = record_attendance(actor=school.instructor, session=second, student=student, status="present").mark
    assert (a.amount, a.entry, b.amount) == (0, None, 1)  # round(1/3) = 0, round(2/3) = 1
    record_attendance(
        actor=school.instructor, session=first, student=student, status="leave", reason_code="sick"
    )
    position = hours_position(Enrolment.objects.get(pk=enrolment.pk))
    assert (position.consumed_hours, position.recognised_amount, position.deferred_amount) == (1, 0, 1)
    report = verify_ledger()
    assert report.ok, report.problems


def test_returned_marks_are_the_saved_rows_with_their_related_objects(
    school, hours, django_assert_num_queries
):
    students = [hours.enrol(name=n)[0] for n in ("甲", "乙")]
    session = hours.session()
    names = [f.attname for f in Attendance._meta.concrete_fields]

    def same_as_stored(marks):
        for mark in marks:
            stored = Attendance.objects.get(pk=mark.pk)
            assert [getattr(mark, n) for n in names] == [getattr(stored, n) for n in names]
            assert (mark._state.adding, mark._state.db) == (False, "default")

    first = take_roll_call(
        actor=school.instructor,
        session=session,
        marks=[Mark(students[0].pk, "present"), Mark(students[1].pk, "leave", "sick")],
    )
    same_as_stored(first.marks)
    result = take_roll_call(
        actor=school.head_teacher, session=session, marks=[Mark(students[1].pk, "absent", "no_show")]
    )
    same_as_stored(result.marks)
    [corrected] = result.marks
    with django_assert_num_queries(0):
        assert corrected.session.pk == session.pk and corrected.set_by == school.head_teacher
        assert corrected.enrolment.class_group.pk == session.class_group_id
        assert corrected.enrolment.student_id == students[1].pk
        assert corrected.reason.code == "no_show"
        assert corrected.entry == result.entries[-1]
        assert corrected.replaces == first.marks[1]
