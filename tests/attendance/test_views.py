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


def test_add_a_make_up_session_for_some_students_from_the_class_page(client, school, hours):
    a, _ea, _oa = hours.enrol(name="甲")
    b, _eb, _ob = hours.enrol(name="乙")
    client.force_login(school.head_teacher)
    chinese = client.get(reverse("attendance:class", args=[school.klass.pk])).content.decode()
    assert "留空表示全班" in chinese
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("attendance:class", args=[school.klass.pk])).content.decode()
    assert f'name="students" value="{a.pk}"' in page and f'name="students" value="{b.pk}"' in page
    assert "Leave empty for the whole class." in page
    add = reverse("attendance:class_add_session", args=[school.klass.pk])
    times = {"date": "2026-06-02", "start_time": "14:00", "end_time": "15:00"}
    client.post(add, {**times, "students": [b.pk]})
    makeup = Session.objects.get(class_group=school.klass, date="2026-06-02")
    assert list(makeup.students.values_list("pk", flat=True)) == [b.pk]
    client.post(add, {**times, "date": "2026-06-03"})
    whole = Session.objects.get(class_group=school.klass, date="2026-06-03")
    assert not whole.students.exists()
    # Someone not in the class: refused with a message, nothing added.
    stranger = school.student(name="路人")
    response = client.post(add, {**times, "date": "2026-06-04", "students": [stranger.pk]}, follow=True)
    assert not Session.objects.filter(date="2026-06-04").exists()
    assert "not one of the available choices" in response.content.decode()

    # The lists show whom each extra session is for; its roll call lists only them.
    for url in (reverse("attendance:class", args=[school.klass.pk]), reverse("attendance:sessions")):
        html = client.get(url).content.decode()
        assert "For: 乙" in html and "For the whole class" in html
    detail = client.get(reverse("attendance:session", args=[makeup.pk])).content.decode()
    assert "For: 乙" in detail and f"status-{b.pk}" in detail and f"status-{a.pk}" not in detail
    # A forged mark for a student it is not for is refused, nothing written.
    client.force_login(school.instructor)
    response = client.post(reverse("attendance:session", args=[makeup.pk]), {f"status-{b.pk}": "present"})
    assert response.status_code == 302
    assert list(Attendance.objects.filter(session=makeup).values_list("student_id", flat=True)) == [b.pk]


def test_change_whom_a_make_up_session_is_for_from_its_page(client, school, hours):
    a, _ea, _oa = hours.enrol(name="甲")
    b, _eb, _ob = hours.enrol(name="乙")
    makeup = hours.session(students=[a])
    client.force_login(school.head_teacher)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("attendance:session_students", args=[makeup.pk])
    client.post(url, {"students": [a.pk, b.pk]})
    assert set(makeup.students.values_list("pk", flat=True)) == {a.pk, b.pk}
    client.post(url, {})
    assert not makeup.students.exists()
    # A regular session has no such form and refuses the change.
    client.post(reverse("attendance:class_generate", args=[school.klass.pk]))
    regular = Session.objects.filter(class_group=school.klass, kind=Session.Kind.REGULAR).first()
    regular_page = client.get(reverse("attendance:session", args=[regular.pk])).content.decode()
    assert "Who it is for" not in regular_page
    response = client.post(
        reverse("attendance:session_students", args=[regular.pk]), {"students": [a.pk]}, follow=True
    )
    assert "Only an extra session" in response.content.decode() and not regular.students.exists()
    # An instructor may not change it.
    client.force_login(school.instructor)
    client.post(url, {"students": [a.pk]})
    assert not makeup.students.exists()
