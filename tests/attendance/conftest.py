"""Fixtures for attendance: an enrolled student in the package class and dated sessions."""

import pytest
from sessiondays import SessionDays

from feedesk.attendance.services import save_absence_reason
from feedesk.enrolment.services import enrol_student


class Hours(SessionDays):
    def __init__(self, school):
        super().__init__(school)
        self.sick = save_absence_reason(
            actor=school.principal, code="sick", name="病假", name_en="Sick leave", rule="no_deduct"
        )
        self.personal = save_absence_reason(
            actor=school.principal,
            code="personal",
            name="事假",
            name_en="Personal leave",
            rule="deduct_makeup",
            usable_by_students=True,
            makeup_valid_days=30,
        )
        self.no_show = save_absence_reason(
            actor=school.principal, code="no_show", name="旷课", name_en="No show", rule="deduct"
        )

    def enrol(self, name="张三", klass=None, **kwargs):
        student = self.school.student(name=name)
        enrolment, order = enrol_student(
            actor=self.school.cashier, student=student, class_group=klass or self.school.klass, **kwargs
        )
        return student, enrolment, order


@pytest.fixture
def hours(school):
    return Hours(school)


@pytest.fixture
def hours_factory(school):
    return lambda: Hours(school)
