"""Attendance: sessions, roll calls, absences and the recognition of tuition they cause."""

from feedesk.attendance.services.reasons import (
    add_closed_date,
    install_default_reasons,
    remove_closed_date,
    save_absence_reason,
    settings_for,
    update_settings,
)
from feedesk.attendance.services.recognition import expire_enrolments, recognised_for
from feedesk.attendance.services.roll_call import (
    Mark,
    MarkOutcome,
    RollCallResult,
    record_attendance,
    report_absence,
    take_roll_call,
    withdraw_absence,
)
from feedesk.attendance.services.sessions import (
    GenerateResult,
    add_session,
    cancel_session,
    generate_sessions,
    reschedule_session,
    set_session_students,
)

__all__ = [
    "GenerateResult",
    "Mark",
    "MarkOutcome",
    "RollCallResult",
    "add_closed_date",
    "add_session",
    "cancel_session",
    "expire_enrolments",
    "generate_sessions",
    "install_default_reasons",
    "recognised_for",
    "record_attendance",
    "remove_closed_date",
    "report_absence",
    "reschedule_session",
    "save_absence_reason",
    "set_session_students",
    "settings_for",
    "take_roll_call",
    "update_settings",
    "withdraw_absence",
]
