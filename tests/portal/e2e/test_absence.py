"""Scenario 2: a student reports an absence, changes its reason, and sees the school's mark read-only."""

import pytest
from django.db.models import Q

from feedesk.attendance.models import Attendance
from feedesk.attendance.services import install_default_reasons
from feedesk.portal.services import invite_student, set_password_with_code
from tests.conftest import School
from tests.portal.conftest import Family
from tests.portal.e2e.conftest import sign_in
from tests.portal.test_absences import future_session, staff_marks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_student_reports_changes_and_sees_the_school_reason(page, live_server):
    school = School()
    install_default_reasons(actor=school.principal)
    family = Family(school, "13900000031", ("吴小凡",))
    student = family.children[0]
    student.phone = "13600000031"
    student.save(update_fields=["phone"])
    code = invite_student(actor=school.cashier, student=student).code
    set_password_with_code(phone=student.phone, code=code, new_password="student-pass-2026")
    mine = future_session(school, school.lesson_class, days=3)
    theirs = future_session(school, school.lesson_class, days=6)
    staff_marks(school, theirs, student, "sick")

    sign_in(page, live_server, student.phone, "student-pass-2026")
    page.get_by_role("link", name="Upcoming Courses").click()
    row = page.locator(f'tr[data-session="{mine.pk}"]')
    row.get_by_text("Absent?").click()
    row.locator("select[name=reason]").select_option("personal")
    row.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    row = page.locator(f'tr[data-session="{mine.pk}"]')
    assert "Personal leave" in row.inner_text()

    row.get_by_text("Change").click()
    row.locator("select[name=reason]").select_option("school_event")
    row.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    row = page.locator(f'tr[data-session="{mine.pk}"]')
    text = row.inner_text()
    assert "School event" in text and "Personal leave" in text  # the current mark and its history

    school_row = page.locator(f'tr[data-session="{theirs.pk}"]')
    assert "Sick leave" in school_row.inner_text() and "Recorded by the school" in school_row.inner_text()
    assert school_row.locator("form").count() == 0
    current = Attendance.objects.get(Q(session=mine) & Q(student=student) & Q(is_current=True))
    assert (current.reason.code, current.set_by_role) == ("school_event", "student")
