"""The staff pages render and call the services; refusals come back as messages."""

from django.urls import reverse

from feedesk.attendance.models import Attendance, Session
from feedesk.ledger.models import EntryCode, JournalEntry


def test_roll_call_page_records_marks(client, school, hours):
    student, enrolment, _o = hours.enrol()
    session = hours.session()
    client.force_login(school.instructor)
    url = reverse("attendance:session", args=[session.pk])
    page = client.get(url)
    assert page.status_code == 200 and student.name in page.content.decode()
    response = client.post(url, {f"status-{student.pk}": "present"})
    assert response.status_code == 302
    assert Attendance.objects.get(session=session, is_current=True).status == "present"
    assert JournalEntry.objects.filter(code=EntryCode.CONSUMPTION).count() == 1
    for name, args in [
        ("attendance:sessions", []),
        ("attendance:class", [school.klass.pk]),
        ("attendance:enrolment", [enrolment.pk]),
        ("attendance:reasons", []),
        ("attendance:renewals", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 200, name


def test_refusal_is_shown_not_raised(client, school, hours):
    student, _e, _o = hours.enrol()
    session = hours.session()
    client.force_login(school.instructor)
    response = client.post(
        reverse("attendance:session", args=[session.pk]),
        {f"status-{student.pk}": "present", f"reason-{student.pk}": "sick"},
    )
    assert response.status_code == 200
    assert not Attendance.objects.exists()
    # an instructor cannot cancel; another school's session does not exist
    client.post(reverse("attendance:session_cancel", args=[session.pk]))
    assert Session.objects.get(pk=session.pk).status == "scheduled"


def test_other_schools_pages_are_404(client, school, other_school, hours):
    _student, enrolment, _o = hours.enrol()
    session = hours.session()
    client.force_login(other_school.principal)
    assert client.get(reverse("attendance:session", args=[session.pk])).status_code == 404
    assert client.get(reverse("attendance:enrolment", args=[enrolment.pk])).status_code == 404
    assert client.get(reverse("attendance:class", args=[school.klass.pk])).status_code == 404


def test_generate_and_add_from_the_class_page(client, school):
    client.force_login(school.head_teacher)
    client.post(reverse("attendance:class_generate", args=[school.klass.pk]))
    generated = Session.objects.filter(class_group=school.klass).count()
    assert generated > 0
    client.post(
        reverse("attendance:class_add_session", args=[school.klass.pk]),
        {"date": "2026-10-10", "start_time": "14:00", "end_time": "15:00"},
    )
    assert Session.objects.filter(class_group=school.klass).count() == generated + 1


def test_settings_form_updates_the_school(client, school):
    from feedesk.attendance.services import settings_for

    client.force_login(school.principal)
    client.post(
        reverse("attendance:settings"),
        {
            "gift_hours_first": "on",
            "renewal_threshold_hours": "6",
            "renewal_days_before_expiry": "10",
            "student_cutoff_minutes": "60",
            "roll_call_early_minutes": "15",
        },
    )
    settings = settings_for(school.org.pk)
    assert settings.gift_hours_first and settings.renewal_threshold_hours == 6
    client.force_login(school.instructor)
    client.post(
        reverse("attendance:settings"),
        {
            "renewal_threshold_hours": "1",
            "renewal_days_before_expiry": "1",
            "student_cutoff_minutes": "1",
            "roll_call_early_minutes": "1",
        },
    )
    assert settings_for(school.org.pk).renewal_threshold_hours == 6


def test_desk_pages_show_hours_and_renewal_warnings(client, school, hours):
    from decimal import Decimal

    student, enrolment, _o = hours.enrol(klass=school.lesson_class, hours=Decimal(3))
    client.force_login(school.principal)
    page = client.get(reverse("desk:student", args=[student.pk])).content.decode()
    assert reverse("attendance:enrolment", args=[enrolment.pk]) in page
    assert "¥450.00" in page  # 3 lessons at ¥150 still deferred
    dashboard = client.get(reverse("desk:dashboard")).content.decode()
    assert student.name in dashboard and "renewal-warnings" in dashboard
