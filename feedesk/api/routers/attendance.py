"""Roll call for one student (`POST /attendance`) and the school's absence-reason code table."""

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from feedesk.api.idempotency import run_write
from feedesk.api.routers.common import ERRORS, actor, currency, hours, page, visible
from feedesk.api.schemas import (
    AbsenceReasonFilter,
    AbsenceReasonOut,
    AttendanceIn,
    AttendanceOut,
    MakeupCreditOut,
    Page,
    Paging,
)
from feedesk.attendance.models import AbsenceReason, Attendance, MakeupCredit, Session
from feedesk.attendance.selectors import absence_reasons, hours_position, sessions_visible_to
from feedesk.attendance.services import record_attendance
from feedesk.billing.models import Order
from feedesk.core.permissions import Capability, require
from feedesk.people.selectors import students_visible_to

router = Router(tags=["attendance"])

RECORD_DESCRIPTION = """\
Marks one student present, absent or leave for a session and uses hours by the rule of the
absence reason (present uses the session's hours; absent or leave with a reason that deducts uses
them; without a reason absent deducts and leave does not). A mark that uses paid hours posts a
`CONSUMPTION` entry; changing a student's mark posts a `REVERSAL` of what the old mark recognised,
then the new entry. Send an `Idempotency-Key`.

**201**: a mark was written (the first one, or a correction); **200**: the student already had
exactly this mark, nothing changed. The body is the student's current mark either way.

Refusals: 404 `not_found` (a session or student this token cannot see: another school's, another
campus's, or for an instructor another instructor's session); 403 `permission_denied` (the role
takes no attendance, or `allow_overdraw` without the overdraw capability); 400 `not_enrolled`,
`reason_unknown` (not an active code of the school), `reason_not_for_present`,
`makeup_needs_presence`; 409 `hours_exhausted`, `session_not_started` (before the roll-call window
opens), `session_cancelled`, `enrolment_expired`, `no_makeup_credit`, `makeup_credit_used`,
`no_hour_price`.
"""


def attendance_out(mark: Attendance, currency_code: str, arrears: Order | None = None) -> AttendanceOut:
    mark = Attendance.objects.select_related("reason", "enrolment").get(pk=mark.pk)
    credit = MakeupCredit.objects.filter(granted_by=mark).first()
    return AttendanceOut(
        id=mark.pk,
        session_id=mark.session_id,
        student_id=mark.student_id,
        enrolment_id=mark.enrolment_id,
        status=mark.status,  # type: ignore[arg-type]
        reason_code=mark.reason.code if mark.reason else None,
        set_by_role=mark.set_by_role,  # type: ignore[arg-type]
        hours=hours(mark.hours),
        paid_hours=hours(mark.paid_hours),
        gift_hours=hours(mark.gift_hours),
        recognised_amount=mark.amount,
        currency=currency_code,
        entry_id=mark.entry_id,
        makeup_credit_used=mark.makeup_credit_used,
        makeup_credit=MakeupCreditOut(
            id=credit.pk,
            expires_on=credit.expires_on,
            used=credit.used_by_id is not None,
            revoked=credit.revoked,
        )
        if credit
        else None,
        replaces_id=mark.replaces_id,
        recorded_at=mark.created_at,
        remaining_hours=hours(hours_position(mark.enrolment).remaining_hours),
        arrears_order_id=arrears.pk if arrears else None,
        arrears_order_number=arrears.number if arrears else None,
    )


@router.post(
    "/attendance",
    response={200: AttendanceOut, 201: AttendanceOut, **ERRORS},
    summary="Record a student's attendance: 201 when a mark is written, 200 when unchanged",
    description=RECORD_DESCRIPTION,
)
def record_attendance_endpoint(request: HttpRequest, payload: AttendanceIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, AttendanceOut]:
        require(user, Capability.TAKE_ATTENDANCE)
        session = visible(sessions_visible_to(user), payload.session_id)
        student = visible(students_visible_to(user), payload.student_id)
        # Lock the session first, as the roll call itself does, so `before` is the mark the roll
        # call will find: of two identical requests at once, exactly one answers 201.
        Session.objects.select_for_update().filter(pk=session.pk).values_list("pk").first()
        before = (
            Attendance.objects.filter(session=session, student=student, is_current=True)
            .values_list("pk", flat=True)
            .first()
        )
        outcome = record_attendance(
            actor=user,
            session=session,
            student=student,
            status=payload.status,
            reason_code=payload.reason_code,
            use_makeup_credit=payload.use_makeup_credit,
            allow_overdraw=payload.allow_overdraw,
        )
        status = 200 if outcome.mark.pk == before else 201
        return status, attendance_out(outcome.mark, currency(request), outcome.arrears_order)

    return run_write(request, work)


def reason_out(reason: AbsenceReason) -> AbsenceReasonOut:
    return AbsenceReasonOut(
        id=reason.pk,
        code=reason.code,
        name=reason.name,
        name_en=reason.name_en,
        usable_by_students=reason.usable_by_students,
        rule=reason.rule,  # type: ignore[arg-type]
        makeup_valid_days=reason.makeup_valid_days,
        is_active=reason.is_active,
    )


@router.get(
    "/absence-reasons",
    response={200: Page[AbsenceReasonOut], **ERRORS},
    summary="The school's absence reasons and what each does to the hours",
)
def list_absence_reasons(
    request: HttpRequest, filters: Query[AbsenceReasonFilter], paging: Query[Paging]
) -> Page[AbsenceReasonOut]:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    qs = absence_reasons(
        organization_id=user.tenant_id,
        for_students=filters.for_students,
        include_inactive=filters.include_inactive,
    )
    items, count = page(qs, paging)
    return Page[AbsenceReasonOut](items=[reason_out(r) for r in items], count=count)
