"""Extra sessions held for some students only (make-up lessons): who is on their roll call, who
may be marked and who may report an absence; none named means the whole class."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from feedesk.attendance.models import Attendance, Session
from feedesk.attendance.selectors import named_students, session_is_for, session_roster
from feedesk.attendance.services import (
    Mark,
    add_session,
    generate_sessions,
    report_absence,
    set_session_students,
    take_roll_call,
    withdraw_absence,
)
from feedesk.audit.models import AuditEntry
from feedesk.core.errors import Conflict, NotFound, ValidationFailed
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import JournalEntry


def add(school, students=(), klass=None, date=datetime.date(2026, 6, 2)):
    return add_session(
        actor=school.principal,
        class_group=klass or school.klass,
        date=date,
        start_time=datetime.time(9),
        end_time=datetime.time(10, 30),
        students=students,
    )


def test_an_extra_session_names_enrolled_students_and_records_them(school, hours):
    a, b, c = (hours.enrol(name=n)[0] for n in ("甲", "乙", "丙"))
    session = add(school, students=[b, a, a])
    assert session.kind == Session.Kind.EXTRA
    assert sorted(session.students.values_list("pk", flat=True)) == sorted([a.pk, b.pk])
    audit = AuditEntry.objects.get(action="session.added", target_id=session.pk)
    assert audit.data["students"] == sorted([a.pk, b.pk])
    whole = add(school)
    assert not whole.students.exists()
    assert AuditEntry.objects.get(action="session.added", target_id=whole.pk).data["students"] == []
    assert named_students([session.pk, whole.pk]) == {session.pk: sorted([a.pk, b.pk])}
    assert named_students([]) == {}
    del c


def test_only_students_enrolled_in_the_class_may_be_named(school, other_school, hours):
    enrolled, _e, _o = hours.enrol(name="甲")
    stranger = school.student(name="路人")  # of the school, not in the class
    elsewhere, _e2, _o2 = hours.enrol(name="乙", klass=school.lesson_class, hours=Decimal(4))
    before = Session.objects.count()
    for outsider in (stranger, elsewhere):
        with pytest.raises(ValidationFailed) as refused:
            add(school, students=[enrolled, outsider])
        assert refused.value.code == "not_enrolled"
        assert outsider.name in str(refused.value.message) and school.klass.name in str(refused.value.message)
    # no longer active
    leaving, enrolment, _o3 = hours.enrol(name="丙")
    Enrolment.objects.filter(pk=enrolment.pk).update(status=Enrolment.Status.CANCELLED)
    with pytest.raises(ValidationFailed) as refused:
        add(school, students=[leaving])
    assert refused.value.code == "not_enrolled"
    # another school's student does not exist here
    with pytest.raises(NotFound):
        add(school, students=[other_school.student(name="外校")])
    assert Session.objects.count() == before


def test_not_enrolled_is_said_in_chinese_too(school, hours):
    from django.utils import translation

    stranger = school.student(name="路人")
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as refused:
        add(school, students=[stranger])
    assert "路人" in str(refused.value.message) and "未报名" in str(refused.value.message)


def test_roster_lists_only_the_named_students(school, hours):
    a, b, c = (hours.enrol(name=n)[0] for n in ("甲", "乙", "丙"))
    makeup = add(school, students=[a, c])
    assert {line.enrolment.student_id for line in session_roster(makeup)} == {a.pk, c.pk}
    whole = add(school)
    assert {line.enrolment.student_id for line in session_roster(whole)} == {a.pk, b.pk, c.pk}
    generate_sessions(actor=school.principal, class_group=school.klass)
    regular = Session.objects.filter(class_group=school.klass, kind=Session.Kind.REGULAR).first()
    assert len(session_roster(regular)) == 3


def test_roll_call_refuses_a_student_the_session_is_not_for_and_writes_nothing(school, hours):
    a, b = (hours.enrol(name=n)[0] for n in ("甲", "乙"))
    makeup = add(school, students=[a])
    entries = JournalEntry.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        take_roll_call(
            actor=school.instructor, session=makeup, marks=[Mark(a.pk, "present"), Mark(b.pk, "present")]
        )
    assert refused.value.code == "not_for_this_session" and "乙" in str(refused.value.message)
    assert not Attendance.objects.exists() and JournalEntry.objects.count() == entries
    makeup.refresh_from_db()
    assert makeup.roll_called_at is None
    result = take_roll_call(actor=school.instructor, session=makeup, marks=[Mark(a.pk, "present")])
    assert [m.student_id for m in result.marks] == [a.pk]
    # A session for the whole class takes anyone enrolled.
    whole = add(school)
    result = take_roll_call(
        actor=school.instructor, session=whole, marks=[Mark(a.pk, "present"), Mark(b.pk, "present")]
    )
    assert len(result.marks) == 2


def test_roll_call_on_another_schools_student_is_not_found(school, other_school, hours):
    a, _e, _o = hours.enrol(name="甲")
    makeup = add(school, students=[a])
    outsider = other_school.student(name="外校")
    with pytest.raises(NotFound):
        take_roll_call(actor=school.instructor, session=makeup, marks=[Mark(outsider.pk, "present")])


def test_absence_reports_only_for_the_named_students(school, hours):
    a, _e, _o = hours.enrol(name="甲")
    b, _e2, _o2 = hours.enrol(name="乙")
    coming = timezone.localdate() + datetime.timedelta(days=3)
    makeup = add(school, students=[a], date=coming)
    with pytest.raises(ValidationFailed) as refused:
        report_absence(reporter=school.guardian, session=makeup, student=b, reason_code="personal")
    assert refused.value.code == "not_for_this_session"
    with pytest.raises(ValidationFailed):
        report_absence(reporter=b, session=makeup, student=b, reason_code="personal")
    assert not Attendance.objects.exists()
    mark = report_absence(reporter=school.guardian, session=makeup, student=a, reason_code="personal")
    assert (mark.student_id, mark.status) == (a.pk, "leave")
    withdraw_absence(reporter=school.guardian, session=makeup, student=a)
    assert not Attendance.objects.filter(is_current=True).exists()


def test_session_is_for_matches_the_rule(school, hours):
    a, b = (hours.enrol(name=n)[0] for n in ("甲", "乙"))
    for_a, whole = add(school, students=[a]), add(school)
    generate_sessions(actor=school.principal, class_group=school.klass)
    regular = set(
        Session.objects.filter(kind=Session.Kind.REGULAR, class_group=school.klass).values_list(
            "pk", flat=True
        )
    )
    assert regular
    qs = Session.objects.filter(class_group=school.klass)
    assert set(qs.filter(session_is_for(a.pk)).values_list("pk", flat=True)) == {for_a.pk, whole.pk} | regular
    assert set(qs.filter(session_is_for(b.pk)).values_list("pk", flat=True)) == {whole.pk} | regular


def test_changing_whom_an_extra_session_is_for(school, hours):
    a, b = (hours.enrol(name=n)[0] for n in ("甲", "乙"))
    coming = timezone.localdate() + datetime.timedelta(days=3)
    makeup = add(school, students=[a], date=coming)
    set_session_students(actor=school.head_teacher, session=makeup, students=[a, b])
    assert set(makeup.students.values_list("pk", flat=True)) == {a.pk, b.pk}
    audit = AuditEntry.objects.get(action="session.students_changed", target_id=makeup.pk)
    assert audit.data == {"before": [a.pk], "after": sorted([a.pk, b.pk])}
    # b reported leave: b stays named until that mark is withdrawn
    report_absence(reporter=school.guardian, session=makeup, student=b, reason_code="personal")
    with pytest.raises(Conflict) as refused:
        set_session_students(actor=school.head_teacher, session=makeup, students=[a])
    assert refused.value.code == "student_has_mark" and "乙" in str(refused.value.message)
    # widening to the whole class is always fine
    set_session_students(actor=school.head_teacher, session=makeup, students=[])
    assert not makeup.students.exists()
    with pytest.raises(ValidationFailed) as refused:
        set_session_students(
            actor=school.head_teacher, session=makeup, students=[school.student(name="路人")]
        )
    assert refused.value.code == "not_enrolled"
    # a regular session is always for the whole class
    generate_sessions(actor=school.principal, class_group=school.klass)
    regular = Session.objects.filter(kind=Session.Kind.REGULAR, class_group=school.klass).first()
    with pytest.raises(ValidationFailed) as refused:
        set_session_students(actor=school.principal, session=regular, students=[a])
    assert refused.value.code == "session_not_extra"
    assert not regular.students.exists()
