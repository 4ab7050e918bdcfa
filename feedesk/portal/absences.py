"""The Absent? column: a student's coming sessions with their marks, and reporting leave for one."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from feedesk.attendance.models import AbsenceReason, Attendance, AttendanceSettings, Session
from feedesk.attendance.selectors import absence_reasons
from feedesk.attendance.services import report_absence, withdraw_absence
from feedesk.core.errors import NotFound
from feedesk.enrolment.models import Enrolment
from feedesk.people.models import Student
from feedesk.portal.selectors import PortalViewer

UPCOMING = 8
RECENT_DAYS = 14

SELF_SET = (Attendance.SetBy.STUDENT, Attendance.SetBy.GUARDIAN)


@dataclass
class SessionRow:
    session: Session
    starts: datetime.datetime
    mark: Attendance | None
    history: list[Attendance] = field(default_factory=list)  # earlier marks, replaced by the current one
    is_future: bool = False
    editable: bool = False  # the payer may choose or change the reason now
    cutoff: datetime.datetime | None = None

    @property
    def set_by_school(self) -> bool:
        return self.mark is not None and self.mark.set_by_role not in SELF_SET


def _start(session: Session) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(session.date, session.start_time))


def session_rows(*, student: Student, enrolments: list[Enrolment]) -> dict[int, list[SessionRow]]:
    """Per enrolment: the last fortnight's sessions (their marks are the history) and the next few."""
    if not enrolments:
        return {}
    now = timezone.now()
    today = timezone.localdate()
    # A read: the school's settings, or their defaults until staff first save them.
    options = AttendanceSettings.objects.filter(organization_id=student.organization_id).first()
    cutoff_minutes = (options or AttendanceSettings()).student_cutoff_minutes
    class_ids = {e.class_group_id: e.pk for e in enrolments}
    sessions = list(
        Session.objects.filter(
            class_group_id__in=list(class_ids),
            status=Session.Status.SCHEDULED,
            date__gte=today - datetime.timedelta(days=RECENT_DAYS),
        ).order_by("date", "start_time")
    )
    marks: dict[int, list[Attendance]] = {}
    for mark in (
        Attendance.objects.filter(student=student, session__in=sessions)
        .select_related("reason")
        .order_by("created_at", "pk")
    ):
        marks.setdefault(mark.session_id, []).append(mark)
    rows: dict[int, list[SessionRow]] = {}
    upcoming: dict[int, int] = {}
    for session in sessions:
        enrolment_id = class_ids[session.class_group_id]
        starts = _start(session)
        is_future = starts > now
        if is_future:
            upcoming[enrolment_id] = upcoming.get(enrolment_id, 0) + 1
            if upcoming[enrolment_id] > UPCOMING:
                continue
        history = marks.get(session.pk, [])
        current = next((m for m in history if m.is_current), None)
        cutoff = starts - datetime.timedelta(minutes=cutoff_minutes)
        editable = is_future and now <= cutoff and (current is None or current.set_by_role in SELF_SET)
        rows.setdefault(enrolment_id, []).append(
            SessionRow(
                session=session,
                starts=starts,
                mark=current,
                history=[m for m in history if not m.is_current],
                is_future=is_future,
                editable=editable,
                cutoff=cutoff,
            )
        )
    return rows


def student_reasons(organization_id: int) -> list[AbsenceReason]:
    return list(absence_reasons(organization_id=organization_id, for_students=True))


def _own_session(viewer: PortalViewer, student: Student, session_id: int | str) -> Session:
    """A session of a class the student is enrolled in, in the viewer's school; else not found."""
    session = (
        Session.objects.filter(
            pk=session_id if str(session_id).isdigit() else 0,
            organization_id=viewer.organization.pk,
            class_group__enrolments__student=student,
            class_group__enrolments__status=Enrolment.Status.ACTIVE,
        )
        .distinct()
        .first()
    )
    if session is None:
        raise NotFound("Not found.")
    return session


def report(
    *, viewer: PortalViewer, student_id: int | str, session_id: int | str, reason_code: str
) -> Attendance:
    """Report (or change) leave for one of the viewer's students' sessions."""
    student = viewer.get_student(student_id)
    session = _own_session(viewer, student, session_id)
    reporter = viewer.guardian if viewer.guardian is not None else student
    return report_absence(reporter=reporter, session=session, student=student, reason_code=reason_code)


def withdraw(*, viewer: PortalViewer, student_id: int | str, session_id: int | str) -> None:
    """Clear leave the viewer reported for a coming session (a school-set mark stays)."""
    student = viewer.get_student(student_id)
    session = _own_session(viewer, student, session_id)
    reporter = viewer.guardian if viewer.guardian is not None else student
    withdraw_absence(reporter=reporter, session=session, student=student)
