import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from feedesk.catalog.models import ClassGroup
from feedesk.users.models import User


def classes_visible_to(user: User) -> QuerySet[ClassGroup]:
    qs = ClassGroup.objects.filter(organization_id=user.tenant_id)
    campus_ids = user.campus_ids()
    if campus_ids is not None:
        qs = qs.filter(campus_id__in=campus_ids)
    return qs


def classes_with_seats(user: User) -> QuerySet[ClassGroup]:
    from feedesk.enrolment.models import Enrolment

    return (
        classes_visible_to(user)
        .filter(is_active=True)
        .select_related("course", "course__subject", "campus", "instructor")
        .prefetch_related("schedule")
        .annotate(enrolled=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE)))
        .order_by("course__subject__name", "name")
    )


@dataclass(frozen=True)
class ScheduledSession:
    date: datetime.date
    start: datetime.datetime
    end: datetime.datetime
    hours: Decimal


def scheduled_sessions(
    *,
    class_group: ClassGroup,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    tz: datetime.tzinfo | None = None,
) -> list[ScheduledSession]:
    """The dated occurrences of a class's weekly schedule between its start and end dates."""
    tz = tz or timezone.get_current_timezone()
    first = max(class_group.start_date, date_from) if date_from else class_group.start_date
    last = min(class_group.end_date, date_to) if date_to else class_group.end_date
    slots = sorted(class_group.schedule.all(), key=lambda s: (s.weekday, s.start_time))
    sessions: list[ScheduledSession] = []
    day = first
    while day <= last:
        for slot in slots:
            if slot.weekday == day.weekday():
                sessions.append(
                    ScheduledSession(
                        date=day,
                        start=datetime.datetime.combine(day, slot.start_time, tzinfo=tz),
                        end=datetime.datetime.combine(day, slot.end_time, tzinfo=tz),
                        hours=class_group.session_hours,
                    )
                )
        day += datetime.timedelta(days=1)
    return sessions
