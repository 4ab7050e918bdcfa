"""Fixtures for attendance: an enrolled student in the package class and dated sessions."""

import datetime
from decimal import Decimal

import pytest

from feedesk.attendance.services import add_session, save_absence_reason
from feedesk.enrolment.services import enrol_student

PAST = datetime.date(2026, 6, 1)  # before "now" for every test: roll calls are allowed


class Hours:
    def __init__(self, school):
        self.school = school
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
        self.day = 0

    def enrol(self, name="张三", klass=None, **kwargs):
        student = self.school.student(name=name)
        enrolment, order = enrol_student(
            actor=self.school.cashier, student=student, class_group=klass or self.school.klass, **kwargs
        )
        return student, enrolment, order

    def session(self, klass=None, hours=None, date=None):
        self.day += 1
        return add_session(
            actor=self.school.principal,
            class_group=klass or self.school.klass,
            date=date or PAST + datetime.timedelta(days=self.day),
            start_time=datetime.time(9),
            end_time=datetime.time(10, 30),
            hours=Decimal(hours) if hours is not None else None,
        )


@pytest.fixture
def hours(school):
    return Hours(school)


@pytest.fixture
def hours_factory(school):
    return lambda: Hours(school)
