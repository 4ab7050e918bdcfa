"""The Absent? column: a student's coming sessions with their marks, and reporting leave for one."""

import datetime
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils import timezone

from feedesk.attendance.models import AbsenceReason, Attendance, AttendanceSettings, Session
from feedesk.attendance.selectors import session_is_for, session_is_for_sql
from feedesk.attendance.services import report_absence, withdraw_absence
from feedesk.core import sql
from feedesk.core.errors import NotFound
from feedesk.enrolment.models import Enrolment
from feedesk.people.models import Student
from feedesk.portal.selectors import PortalViewer, form_pk

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
    """Per enrolment: the last fortnight's sessions (their marks are the history) and the next few.

    One lean statement: the sessions with the student's marks (and their reasons) and the
    school's cut-off for reporting an absence (its default until staff first save the settings).
    """
    if not enrolments:
        return {}
    now = timezone.now()
    today = timezone.localdate()
    class_ids = {e.class_group_id: e.pk for e in enrolments}
    since = sql.prepared_row(Session, ("date",), [today - datetime.timedelta(days=RECENT_DAYS)])[0]
    found = sql.fetch(
        _sessions_statement(len(class_ids)),
        [student.organization_id, student.pk, *class_ids, Session.Status.SCHEDULED, since, student.pk],
    )
    sessions: dict[int, Session] = {}
    marks: dict[int, list[Attendance]] = {}
    cutoff_minutes = AttendanceSettings().student_cutoff_minutes
    for found_row in found:
        session, mark, reason = sql.split_joined(found_row, _SESSION_MODELS)
        session = sessions.setdefault(session.pk, session)
        if found_row[-1] is not None:
            cutoff_minutes = found_row[-1]
        if mark is not None:
            sql.cache_related(mark, "reason", reason)
            marks.setdefault(session.pk, []).append(mark)
    rows: dict[int, list[SessionRow]] = {}
    upcoming: dict[int, int] = {}
    for session in sessions.values():
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


_SESSION_MODELS = [Session, Attendance, AbsenceReason]


@lru_cache(maxsize=32)
def _sessions_statement(classes: int) -> str:
    table = {model: model._meta.db_table for model in _SESSION_MODELS}
    selected = sql.joined_columns(((Session, "s"), (Attendance, "a"), (AbsenceReason, "r")))
    return (
        f"SELECT {selected}, (SELECT st.student_cutoff_minutes FROM {AttendanceSettings._meta.db_table} st "
        "WHERE st.organization_id = %s) "
        f"FROM {table[Session]} s "
        f"LEFT JOIN {table[Attendance]} a ON a.session_id = s.id AND a.student_id = %s "
        f"LEFT JOIN {table[AbsenceReason]} r ON r.id = a.reason_id "
        f"WHERE s.class_group_id IN ({sql.placeholders(classes)}) AND s.status = %s AND s.date >= %s "
        # A make-up lesson held for other students is not this child's.
        f"AND {session_is_for_sql('s')} "
        "ORDER BY s.date, s.start_time, s.id, a.created_at, a.id"
    )


def student_reasons(organization_id: int) -> list[AbsenceReason]:
    """The school's active reasons that students and guardians may choose, by code: one lean statement."""
    names = sql.concrete_names(AbsenceReason)
    return sql.read_rows(AbsenceReason, names, sql.fetch(_reasons_statement(), [organization_id]))


@lru_cache(maxsize=1)
def _reasons_statement() -> str:
    names = sql.concrete_names(AbsenceReason)
    return (
        f"SELECT {sql.columns(AbsenceReason, names, 'r')} FROM {AbsenceReason._meta.db_table} r "
        "WHERE r.organization_id = %s AND r.is_active AND r.usable_by_students ORDER BY r.code"
    )


def _own_session(viewer: PortalViewer, student: Student, session_id: int | str) -> Session:
    """A session of a class the student is enrolled in and held for them, in the viewer's school;
    else not found."""
    session = (
        Session.objects.filter(
            session_is_for(student.pk),
            pk=form_pk(session_id) or 0,
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
