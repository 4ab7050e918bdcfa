"""Generating a class's sessions from its weekly schedule, and changing single sessions."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from feedesk.attendance.calendar import meeting_dates, statutory_holidays
from feedesk.attendance.models import Attendance, ClosedDate, Session
from feedesk.audit.services import record_audit
from feedesk.catalog.models import ClassGroup
from feedesk.core.errors import Conflict, ValidationFailed
from feedesk.core.permissions import Capability, ensure_same_organization, require
from feedesk.enrolment.models import Enrolment
from feedesk.people.models import Student
from feedesk.users.models import User


@dataclass
class GenerateResult:
    created: int = 0
    already_there: int = 0
    skipped_holidays: list[datetime.date] = field(default_factory=list)
    skipped_closed: list[datetime.date] = field(default_factory=list)
    # Years chinese_calendar has no data for: no holiday was skipped in them.
    uncovered_years: list[int] = field(default_factory=list)


def _session_hours(class_group: ClassGroup) -> Decimal:
    return class_group.session_hours if class_group.session_hours > 0 else Decimal(1)


@transaction.atomic
def generate_sessions(
    *,
    actor: User,
    class_group: ClassGroup,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> GenerateResult:
    """Create the sessions of the class's weekly schedule between its start and end dates.

    Safe to run again (after the schedule or dates change, say): a session already generated
    for a slot and date — even one since rescheduled or cancelled — is not created twice.
    """
    require(actor, Capability.MANAGE_SESSIONS, campus_id=class_group.campus_id)
    ensure_same_organization(actor, class_group)
    start = max(start or class_group.start_date, class_group.start_date)
    end = min(end or class_group.end_date, class_group.end_date)
    result = GenerateResult()
    if end < start:
        return result
    holidays, result.uncovered_years = statutory_holidays(start, end)
    closed = set(
        ClosedDate.objects.filter(organization_id=class_group.organization_id, date__range=(start, end))
        .filter(Q(campus__isnull=True) | Q(campus_id=class_group.campus_id))
        .values_list("date", flat=True)
    )
    existing = set(
        Session.objects.filter(class_group=class_group).exclude(origin="").values_list("origin", flat=True)
    )
    hours = _session_hours(class_group)
    new: list[Session] = []
    skipped_holidays: set[datetime.date] = set()
    skipped_closed: set[datetime.date] = set()
    for slot in class_group.schedule.all():
        for day in meeting_dates(weekday=slot.weekday, start=start, end=end, skip=()):
            if day in holidays:
                skipped_holidays.add(day)
                continue
            if day in closed:
                skipped_closed.add(day)
                continue
            origin = f"{day.isoformat()}@{slot.pk}"
            if origin in existing:
                result.already_there += 1
                continue
            new.append(
                Session(
                    organization_id=class_group.organization_id,
                    class_group_id=class_group.pk,
                    date=day,
                    start_time=slot.start_time,
                    end_time=slot.end_time,
                    hours=hours,
                    instructor_id=class_group.instructor_id,
                    origin=origin,
                )
            )
    Session.objects.bulk_create(new, batch_size=500)
    result.created = len(new)
    result.skipped_holidays = sorted(skipped_holidays)
    result.skipped_closed = sorted(skipped_closed)
    record_audit(
        actor=actor,
        action="sessions.generated",
        target=class_group,
        data={
            "from": start.isoformat(),
            "to": end.isoformat(),
            "created": result.created,
            "skipped_holidays": [d.isoformat() for d in result.skipped_holidays],
            "skipped_closed": [d.isoformat() for d in result.skipped_closed],
        },
    )
    return result


def _lock(session: Session) -> Session:
    return Session.objects.select_for_update().select_related("class_group").get(pk=session.pk)


def _check_times(start_time: datetime.time, end_time: datetime.time) -> None:
    if end_time <= start_time:
        raise ValidationFailed(_("A session must end after it starts."), code="session_times_invalid")


def _check_instructor(actor: User, instructor: User | None) -> None:
    if instructor is not None:
        ensure_same_organization(actor, instructor)


def _refuse_if_taken(session: Session) -> None:
    if session.marks.filter(is_current=True).exists():
        raise Conflict(
            _("Attendance has been taken for this session; correct the marks instead."),
            code="session_has_attendance",
        )


@transaction.atomic
def reschedule_session(
    *,
    actor: User,
    session: Session,
    date: datetime.date,
    start_time: datetime.time,
    end_time: datetime.time,
    instructor: User | None = None,
    hours: Decimal | None = None,
    note: str = "",
) -> Session:
    """Move one session (and optionally give it a substitute instructor or other hours)."""
    ensure_same_organization(actor, session)
    session = _lock(session)
    require(actor, Capability.MANAGE_SESSIONS, campus_id=session.class_group.campus_id)
    _check_times(start_time, end_time)
    _check_instructor(actor, instructor)
    if session.status == Session.Status.CANCELLED:
        raise Conflict(_("This session is cancelled."), code="session_cancelled")
    _refuse_if_taken(session)
    if hours is not None and hours <= 0:
        raise ValidationFailed(_("A session needs more than zero hours."), code="hours_invalid")
    before = {
        "date": session.date.isoformat(),
        "start": str(session.start_time),
        "end": str(session.end_time),
    }
    changes: dict[str, object] = {"date": date, "start_time": start_time, "end_time": end_time}
    if session.original_date is None and date != session.date:
        changes["original_date"] = session.date
    if instructor is not None:
        changes["instructor"] = instructor
    if hours is not None:
        changes["hours"] = hours
    if note:
        changes["note"] = note.strip()[:200]
    Session.objects.filter(pk=session.pk).update(**changes)
    record_audit(
        actor=actor,
        action="session.rescheduled",
        target=session,
        data={"before": before, "after": {k: str(getattr(v, "pk", v)) for k, v in changes.items()}},
    )
    session.refresh_from_db()
    return session


@transaction.atomic
def cancel_session(*, actor: User, session: Session, reason: str = "") -> Session:
    ensure_same_organization(actor, session)
    session = _lock(session)
    require(actor, Capability.MANAGE_SESSIONS, campus_id=session.class_group.campus_id)
    if session.status == Session.Status.CANCELLED:
        return session
    _refuse_if_taken(session)
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.CANCELLED, note=(reason.strip() or session.note)[:200]
    )
    record_audit(actor=actor, action="session.cancelled", target=session, data={"reason": reason})
    session.refresh_from_db()
    return session


def _named_students(actor: User, class_group: ClassGroup, students: Sequence[Student]) -> list[int]:
    """The ids of the students an extra session is for, each with an active enrolment in the class."""
    ids: list[int] = []
    for student in students:
        ensure_same_organization(actor, student)
        if student.pk not in ids:
            ids.append(student.pk)
    if not ids:
        return ids
    enrolled = set(
        Enrolment.objects.filter(
            class_group_id=class_group.pk, status=Enrolment.Status.ACTIVE, student_id__in=ids
        ).values_list("student_id", flat=True)
    )
    missing = [s for s in students if s.pk not in enrolled]
    if missing:
        raise ValidationFailed(
            _("%(students)s is not enrolled in %(class)s.")
            % {"students": "、".join(dict.fromkeys(s.name for s in missing)), "class": class_group.name},
            code="not_enrolled",
        )
    return sorted(ids)


@transaction.atomic
def add_session(
    *,
    actor: User,
    class_group: ClassGroup,
    date: datetime.date,
    start_time: datetime.time,
    end_time: datetime.time,
    instructor: User | None = None,
    hours: Decimal | None = None,
    note: str = "",
    students: Sequence[Student] = (),
) -> Session:
    """An extra session (a make-up lesson, a lesson on a make-up workday, …).

    `students` names whom it is held for (a make-up lesson's few students), each with an active
    enrolment in the class; none named means the whole class. Only those named are on its roll
    call and may report an absence for it.
    """
    require(actor, Capability.MANAGE_SESSIONS, campus_id=class_group.campus_id)
    ensure_same_organization(actor, class_group)
    _check_times(start_time, end_time)
    _check_instructor(actor, instructor)
    if hours is not None and hours <= 0:
        raise ValidationFailed(_("A session needs more than zero hours."), code="hours_invalid")
    named = _named_students(actor, class_group, students)
    session = Session.objects.create(
        organization_id=class_group.organization_id,
        class_group=class_group,
        date=date,
        start_time=start_time,
        end_time=end_time,
        hours=hours if hours is not None else _session_hours(class_group),
        instructor=instructor or class_group.instructor,
        kind=Session.Kind.EXTRA,
        note=note.strip()[:200],
    )
    if named:
        session.students.add(*named)
    record_audit(
        actor=actor,
        action="session.added",
        target=session,
        data={"date": date.isoformat(), "students": named},
    )
    return session


@transaction.atomic
def set_session_students(*, actor: User, session: Session, students: Sequence[Student]) -> Session:
    """Change whom an extra session is held for; none named means the whole class.

    A student who already has a mark for it (leave the family reported, or the roll call) stays
    named: correct or withdraw that mark first.
    """
    ensure_same_organization(actor, session)
    session = _lock(session)
    require(actor, Capability.MANAGE_SESSIONS, campus_id=session.class_group.campus_id)
    if session.kind != Session.Kind.EXTRA:
        raise ValidationFailed(
            _("Only an extra session can be held for some of the class's students."),
            code="session_not_extra",
        )
    if session.status == Session.Status.CANCELLED:
        raise Conflict(_("This session is cancelled."), code="session_cancelled")
    named = _named_students(actor, session.class_group, students)
    before = sorted(session.students.values_list("pk", flat=True))
    if named == before:
        return session
    if named:
        marked = (
            Attendance.objects.filter(session_id=session.pk, is_current=True)
            .exclude(student_id__in=named)
            .select_related("student")
        )
        unnamed = [mark.student.name for mark in marked]
        if unnamed:
            raise Conflict(
                _("%(students)s already has a mark for this session; correct or withdraw it first.")
                % {"students": "、".join(unnamed)},
                code="student_has_mark",
            )
    session.students.set(named)
    record_audit(
        actor=actor,
        action="session.students_changed",
        target=session,
        data={"before": before, "after": named},
    )
    return session
