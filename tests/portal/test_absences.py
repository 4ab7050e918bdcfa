"""Absent?: students and guardians report leave with a student-usable reason before the cut-off."""

import datetime

import pytest
from django.utils import timezone

from feedesk.attendance.models import AbsenceReason, Attendance, Session
from feedesk.attendance.services import Mark, install_default_reasons, take_roll_call
from feedesk.portal import absences
from feedesk.portal.selectors import viewer_for


def future_session(school, klass, days=3, hour=10):
    start = timezone.localtime() + datetime.timedelta(days=days)
    return Session.objects.create(
        organization=school.org,
        class_group=klass,
        date=start.date(),
        start_time=datetime.time(hour),
        end_time=datetime.time(hour + 1),
        hours=1,
        instructor=school.instructor,
    )


def staff_marks(school, session, student, reason_code):
    """The instructor records leave ahead of time (e.g. a parent phoned the school)."""
    starts = timezone.make_aware(datetime.datetime.combine(session.date, session.start_time))
    take_roll_call(
        actor=school.instructor, session=session, marks=[Mark(student.pk, "leave", reason_code)], now=starts
    )


@pytest.fixture
def reasons(school):
    install_default_reasons(actor=school.principal)
    return {r.code: r for r in AbsenceReason.objects.filter(organization=school.org)}


def test_absent_column_offers_only_student_reasons(family, school, reasons):
    session = future_session(school, school.lesson_class)
    client = family.client()
    client.post("/portal/child/", {"student": family.children[0].pk})
    page = client.get("/portal/courses/").content.decode()
    assert "Absent?" in page and f'data-session="{session.pk}"' in page
    assert 'value="personal"' in page and 'value="school_event"' in page
    assert 'value="sick"' not in page and 'value="no_show"' not in page


def test_report_change_and_staff_reason_is_read_only(family, school, reasons):
    session = future_session(school, school.lesson_class)
    child = family.children[0]
    client = family.client()
    client.post("/portal/child/", {"student": child.pk})
    client.post("/portal/absence/", {"session": session.pk, "student": child.pk, "reason": "personal"})
    mark = Attendance.objects.get(session=session, student=child, is_current=True)
    assert (mark.status, mark.reason.code, mark.set_by_role) == ("leave", "personal", "guardian")
    client.post("/portal/absence/", {"session": session.pk, "student": child.pk, "reason": "school_event"})
    mark = Attendance.objects.get(session=session, student=child, is_current=True)
    assert mark.reason.code == "school_event"
    page = client.get("/portal/courses/").content.decode()
    assert "School event" in page and "Personal leave" in page  # current mark and its history
    # A reason the school does not let students use is refused.
    client.post("/portal/absence/", {"session": session.pk, "student": child.pk, "reason": "sick"})
    assert (
        Attendance.objects.get(session=session, student=child, is_current=True).reason.code == "school_event"
    )
    # Staff set a mark on another session: plain text, no form.
    other = future_session(school, school.lesson_class, days=5)
    staff_marks(school, other, child, "sick")
    page = client.get("/portal/courses/").content.decode()
    row = page.split(f'data-session="{other.pk}"')[1].split("</tr>")[0]
    assert "Sick leave" in row and "Recorded by the school" in row and "<form" not in row
    response = client.post(
        "/portal/absence/", {"session": other.pk, "student": child.pk, "reason": "personal"}, follow=True
    )
    assert Attendance.objects.get(session=other, student=child, is_current=True).reason.code == "sick"
    assert response.status_code == 200


def test_after_the_cutoff_it_is_refused_with_the_reason(family, school, reasons):
    soon = timezone.localtime() + datetime.timedelta(minutes=60)
    session = Session.objects.create(
        organization=school.org,
        class_group=school.lesson_class,
        date=soon.date(),
        start_time=soon.time().replace(second=0, microsecond=0),
        end_time=(soon + datetime.timedelta(minutes=60)).time().replace(second=0, microsecond=0)
        if soon.hour < 23
        else datetime.time(23, 59),
        hours=1,
        instructor=school.instructor,
    )
    child = family.children[0]
    client = family.client()
    response = client.post(
        "/portal/absence/", {"session": session.pk, "student": child.pk, "reason": "personal"}, follow=True
    )
    assert "had to be reported by" in response.content.decode()
    assert not Attendance.objects.filter(session=session, student=child).exists()


def test_another_familys_session_or_student_is_not_found(family, stranger, school, reasons):
    session = future_session(school, school.lesson_class)
    client = family.client()
    response = client.post(
        "/portal/absence/", {"session": session.pk, "student": stranger.children[0].pk, "reason": "personal"}
    )
    assert response.status_code == 404
    not_enrolled = future_session(school, school.klass)
    response = client.post(
        "/portal/absence/",
        {"session": not_enrolled.pk, "student": family.children[0].pk, "reason": "personal"},
    )
    assert response.status_code == 404
    assert not Attendance.objects.exists()
    assert viewer_for(family.user) is not None and absences.UPCOMING > 0


def test_a_reported_absence_can_be_cleared_but_not_a_school_mark(family, stranger, school, reasons):
    from feedesk.ledger.selectors import verify_ledger

    session = future_session(school, school.lesson_class)
    child = family.children[0]
    client = family.client()
    client.post("/portal/child/", {"student": child.pk})
    client.post("/portal/absence/", {"session": session.pk, "student": child.pk, "reason": "personal"})
    assert Attendance.objects.filter(session=session, student=child, is_current=True).exists()
    page = client.get("/portal/courses/").content.decode()
    row = page.split(f'data-session="{session.pk}"')[1].split("</tr>")[0]
    assert "/portal/absence/clear/" in row
    # Another family cannot clear it.
    other = stranger.client()
    assert (
        other.post("/portal/absence/clear/", {"session": session.pk, "student": child.pk}).status_code == 404
    )
    assert Attendance.objects.filter(session=session, student=child, is_current=True).exists()
    response = client.post(
        "/portal/absence/clear/", {"session": session.pk, "student": child.pk}, follow=True
    )
    assert response.status_code == 200
    assert not Attendance.objects.filter(session=session, student=child, is_current=True).exists()
    assert Attendance.objects.filter(session=session, student=child, is_current=False).count() == 1  # history
    # A mark the school set stays, and the page offers no way to clear it.
    staffed = future_session(school, school.lesson_class, days=5)
    staff_marks(school, staffed, child, "sick")
    client.post("/portal/absence/clear/", {"session": staffed.pk, "student": child.pk}, follow=True)
    assert Attendance.objects.get(session=staffed, student=child, is_current=True).reason.code == "sick"
    assert verify_ledger().ok


def test_the_schools_cutoff_and_only_this_childs_marks_show(family, stranger, school, reasons):
    from feedesk.attendance.models import AttendanceSettings

    starts = (timezone.localtime() + datetime.timedelta(hours=3)).replace(second=0, microsecond=0)
    session = Session.objects.create(
        organization=school.org,
        class_group=school.lesson_class,
        date=starts.date(),
        start_time=starts.time(),
        end_time=max(starts.time(), datetime.time(23, 58)).replace(minute=59),
        hours=1,
        instructor=school.instructor,
    )
    staff_marks(school, session, stranger.children[0], "sick")
    client = family.client()
    client.post("/portal/child/", {"student": family.children[0].pk})
    row = client.get("/portal/courses/").content.decode().split(f'data-session="{session.pk}"')[1]
    row = row.split("</tr>")[0]
    assert "<form" in row and "Sick leave" not in row  # three hours ahead, two hours' cut-off
    AttendanceSettings.objects.update_or_create(
        organization=school.org, defaults={"student_cutoff_minutes": 240}
    )
    row = client.get("/portal/courses/").content.decode().split(f'data-session="{session.pk}"')[1]
    row = row.split("</tr>")[0]
    assert "<form" not in row and "Too late to report online" in row


def test_sessions_marks_and_reasons_in_two_statements(family, school, reasons, django_assert_max_num_queries):
    child = family.children[0]
    client = family.client()
    client.post("/portal/child/", {"student": child.pk})
    for days in (2, 3, 4):
        session = future_session(school, school.lesson_class, days=days)
        client.post("/portal/absence/", {"session": session.pk, "student": child.pk, "reason": "personal"})
    # Session with its user and family, cart, enrolments, sessions with their marks, orders, reasons.
    with django_assert_max_num_queries(6):
        page = client.get("/portal/courses/").content.decode()
    assert page.count("Personal leave") >= 3


def test_a_make_up_lesson_shows_only_to_the_children_it_is_for(family, school, reasons):
    from feedesk.attendance.services import add_session

    first, second = family.children
    day = timezone.localdate() + datetime.timedelta(days=4)

    def extra(hour, students=()):
        return add_session(
            actor=school.principal,
            class_group=school.lesson_class,
            date=day,
            start_time=datetime.time(hour),
            end_time=datetime.time(hour + 1),
            students=students,
        )

    for_first, for_second, whole_class = extra(9, [first]), extra(11, [second]), extra(14)
    client = family.client()
    client.post("/portal/child/", {"student": first.pk})
    page = client.get("/portal/courses/").content.decode()
    assert f'data-session="{for_first.pk}"' in page and f'data-session="{whole_class.pk}"' in page
    assert f'data-session="{for_second.pk}"' not in page
    # Not this child's lesson: not found, nothing recorded.
    response = client.post(
        "/portal/absence/", {"session": for_second.pk, "student": first.pk, "reason": "personal"}
    )
    assert response.status_code == 404
    assert not Attendance.objects.filter(session=for_second).exists()
    client.post("/portal/absence/", {"session": for_first.pk, "student": first.pk, "reason": "personal"})
    assert Attendance.objects.get(session=for_first, student=first).reason.code == "personal"
    client.post("/portal/child/", {"student": second.pk})
    page = client.get("/portal/courses/").content.decode()
    assert f'data-session="{for_second.pk}"' in page and f'data-session="{for_first.pk}"' not in page
