"""Generating sessions around China's public holidays, the school's closed dates, and edits."""

import datetime
from datetime import date

import pytest

from feedesk.attendance.calendar import makeup_workdays
from feedesk.attendance.models import Session
from feedesk.attendance.services import (
    add_closed_date,
    add_session,
    cancel_session,
    generate_sessions,
    reschedule_session,
)
from feedesk.audit.models import AuditEntry
from feedesk.catalog.services import create_class
from feedesk.core.errors import NotFound, PermissionDenied


def make_class(school, start, end, weekdays, campus=None):
    return create_class(
        actor=school.principal,
        course=school.package_course,
        campus=campus or school.campus,
        name="周末班",
        instructor=school.instructor,
        capacity=20,
        start_date=start,
        end_date=end,
        schedule=[(w, datetime.time(9), datetime.time(10, 30)) for w in weekdays],
    )


def dates_of(klass):
    return set(Session.objects.filter(class_group=klass).values_list("date", flat=True))


def test_spring_festival_2026_is_skipped_and_makeup_workdays_add_nothing(school):
    # 2026 Spring Festival: 15–23 February off; Saturdays 14 and 28 February are make-up workdays.
    assert {date(2026, 2, 14), date(2026, 2, 28)} <= makeup_workdays(date(2026, 2, 1), date(2026, 2, 28))
    klass = make_class(school, date(2026, 2, 1), date(2026, 3, 1), weekdays=[0, 5, 6])
    result = generate_sessions(actor=school.principal, class_group=klass)
    sessions = dates_of(klass)
    for holiday in (
        date(2026, 2, 15),
        date(2026, 2, 16),
        date(2026, 2, 21),
        date(2026, 2, 22),
        date(2026, 2, 23),
    ):
        assert holiday not in sessions
        assert holiday in result.skipped_holidays
    # A Saturday class meets on a make-up Saturday as on any Saturday; nothing else is added.
    assert date(2026, 2, 14) in sessions and date(2026, 2, 28) in sessions
    assert date(2026, 2, 9) in sessions  # an ordinary Monday
    assert all(d.weekday() in (0, 5, 6) for d in sessions)
    # Feb 2026: Mondays 2, 9, 16*, 23*; Saturdays 7, 14, 21*, 28; Sundays 1, 8, 15*, 22*, Mar 1.
    assert result.created == len(sessions) == 13 - 5
    assert result.uncovered_years == []


def test_national_day_week_2026_is_skipped(school):
    # 1–7 October off (with Mid-Autumn on 25–27 September); Sunday 20 September and Saturday
    # 10 October are make-up workdays.
    klass = make_class(school, date(2026, 9, 14), date(2026, 10, 18), weekdays=[2, 5, 6])
    generate_sessions(actor=school.principal, class_group=klass)
    sessions = dates_of(klass)
    for holiday in (
        date(2026, 9, 26),
        date(2026, 9, 27),
        date(2026, 10, 3),
        date(2026, 10, 4),
        date(2026, 10, 7),
    ):
        assert holiday not in sessions
    assert date(2026, 9, 20) in sessions  # make-up Sunday: the Sunday class still meets
    assert date(2026, 10, 10) in sessions  # make-up Saturday
    assert date(2026, 10, 14) in sessions  # the Wednesday after the holiday
    assert date(2026, 9, 30) in sessions  # Wednesday before the holiday is a workday


def test_closed_dates_regeneration_and_years_without_data(school):
    klass = make_class(school, date(2026, 12, 1), date(2027, 1, 31), weekdays=[5])
    add_closed_date(actor=school.principal, date=date(2026, 12, 26), reason="期末整理")
    add_closed_date(actor=school.principal, date=date(2026, 12, 19), campus=school.campus2)
    result = generate_sessions(actor=school.principal, class_group=klass)
    sessions = dates_of(klass)
    assert date(2026, 12, 26) not in sessions and result.skipped_closed == [date(2026, 12, 26)]
    assert date(2026, 12, 19) in sessions  # closed on the other campus only
    assert result.uncovered_years == [2027]  # no announced 2027 data yet: reported as provisional
    again = generate_sessions(actor=school.principal, class_group=klass)
    assert (again.created, again.already_there) == (0, result.created)
    assert Session.objects.filter(class_group=klass).count() == result.created


def test_reschedule_cancel_and_extra_sessions_survive_regeneration(school):
    klass = make_class(school, date(2026, 3, 1), date(2026, 3, 31), weekdays=[5])
    generate_sessions(actor=school.principal, class_group=klass)
    first, second = Session.objects.filter(class_group=klass).order_by("date")[:2]
    moved = reschedule_session(
        actor=school.head_teacher,
        session=first,
        date=date(2026, 3, 8),
        start_time=datetime.time(14),
        end_time=datetime.time(15, 30),
        instructor=school.principal,
    )
    assert (moved.date, moved.original_date, moved.instructor) == (
        date(2026, 3, 8),
        date(2026, 3, 7),
        school.principal,
    )
    cancel_session(actor=school.cashier, session=second, reason="停电")
    extra = add_session(
        actor=school.principal,
        class_group=klass,
        date=date(2026, 3, 29),
        start_time=datetime.time(9),
        end_time=datetime.time(10),
    )
    assert extra.kind == Session.Kind.EXTRA and extra.instructor == school.instructor
    generate_sessions(actor=school.principal, class_group=klass)
    assert not Session.objects.filter(class_group=klass, date=date(2026, 3, 7)).exists()
    assert Session.objects.get(pk=second.pk).status == Session.Status.CANCELLED
    assert (
        AuditEntry.objects.filter(
            action__in=["session.rescheduled", "session.cancelled", "session.added"]
        ).count()
        == 3
    )


def test_only_session_managers_of_the_school_change_sessions(school, other_school):
    klass = make_class(school, date(2026, 3, 1), date(2026, 3, 31), weekdays=[5])
    with pytest.raises(PermissionDenied):
        generate_sessions(actor=school.instructor, class_group=klass)
    with pytest.raises(NotFound):
        generate_sessions(actor=other_school.principal, class_group=klass)
    assert not Session.objects.exists()


def test_years_not_yet_announced_still_skip_the_rule_based_holidays(school):
    # chinese_calendar 1.11 stops at 2026; 2027's Spring Festival comes from the rule-based calendar.
    klass = make_class(school, date(2027, 1, 25), date(2027, 2, 28), weekdays=[5])
    result = generate_sessions(actor=school.principal, class_group=klass)
    sessions = dates_of(klass)
    assert result.uncovered_years == [2027]
    assert date(2027, 2, 6) not in sessions  # Spring Festival (a Saturday)
    assert date(2027, 1, 30) in sessions and date(2027, 2, 13) in sessions
