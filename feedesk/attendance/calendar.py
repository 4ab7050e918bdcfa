"""Which dates a class does not meet: China's statutory holidays and the school's closed dates.

Rule: a date listed as a statutory holiday (法定节假日, including the weekend days inside a
holiday block) holds no sessions. A make-up workday (调休上班日, e.g. a Saturday worked to
bridge a holiday) adds no sessions: the class keeps its own weekly pattern, so a Saturday class
still meets on a make-up Saturday and weekday classes do not gain a meeting. Schools that want
one add it as an extra session. `chinese_calendar` knows the years the State Council has
published, with their exact holiday blocks; for later years the `holidays` package's rule-based
Chinese calendar (Spring Festival, National Day and the rest, lunar dates included) fills in, and
generation reports those years as provisional so staff check them once the dates are announced.
"""

import datetime
from collections.abc import Iterable

import chinese_calendar
import holidays as holiday_rules
from chinese_calendar import constants


def _covered(year: int) -> bool:
    try:
        chinese_calendar.is_holiday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def statutory_holidays(start: datetime.date, end: datetime.date) -> tuple[set[datetime.date], list[int]]:
    """(holidays between start and end inclusive, years whose holidays are provisional)."""
    years = range(start.year, end.year + 1)
    uncovered = [y for y in years if not _covered(y)]
    holidays = {d for d in constants.holidays if start <= d <= end}
    if uncovered:
        provisional = holiday_rules.country_holidays("CN", years=uncovered)
        holidays |= {d for d in provisional if start <= d <= end}
    return holidays, uncovered


def makeup_workdays(start: datetime.date, end: datetime.date) -> set[datetime.date]:
    return {d for d in constants.workdays if start <= d <= end}


def meeting_dates(
    *,
    weekday: int,
    start: datetime.date,
    end: datetime.date,
    skip: Iterable[datetime.date],
) -> list[datetime.date]:
    """Every `weekday` (0 = Monday) from start to end, except the dates in `skip`."""
    skipped = set(skip)
    first = start + datetime.timedelta(days=(weekday - start.weekday()) % 7)
    dates = []
    day = first
    while day <= end:
        if day not in skipped:
            dates.append(day)
        day += datetime.timedelta(days=7)
    return dates
