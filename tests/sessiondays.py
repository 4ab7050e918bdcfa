"""Dated sessions for the attendance and API tests, one day apart and all before "now", so roll
calls on them are open."""

import datetime
from decimal import Decimal

from feedesk.attendance.services import add_session

# Before "now" in every test; the sessions are dated from the day after.
PAST = datetime.date(2026, 6, 1)


class SessionDays:
    """Adds 09:00–10:30 sessions to a school's classes: on PAST + 1 day, PAST + 2 days, … unless
    given a date; with the class's own hours unless given others; for the whole class unless given
    the students it is for."""

    def __init__(self, school) -> None:
        self.school = school
        self.day = 0

    def session(self, *, klass=None, date=None, hours=None, students=()):
        self.day += 1
        return add_session(
            actor=self.school.principal,
            class_group=klass or self.school.klass,
            date=date or PAST + datetime.timedelta(days=self.day),
            start_time=datetime.time(9),
            end_time=datetime.time(10, 30),
            hours=Decimal(hours) if hours is not None else None,
            students=students,
        )
