"""Staff pages for sessions, roll call, absence reasons and hours positions. Thin: services decide."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from feedesk.attendance import selectors
from feedesk.attendance.forms import (
    AbsenceReasonForm,
    CancelForm,
    ClosedDateForm,
    SessionStudentsForm,
    SessionTimesForm,
    SettingsForm,
)
from feedesk.attendance.models import Attendance, ClosedDate, Session
from feedesk.attendance.services import (
    Mark,
    add_closed_date,
    add_session,
    cancel_session,
    generate_sessions,
    install_default_reasons,
    remove_closed_date,
    reschedule_session,
    save_absence_reason,
    set_session_students,
    settings_for,
    take_roll_call,
    update_settings,
)
from feedesk.catalog.selectors import classes_visible_to
from feedesk.core.errors import DomainError, NotFound
from feedesk.core.permissions import Capability, has_capability
from feedesk.users.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _run(request: HttpRequest, action: Callable[[], Any], success: str) -> bool:
    """Call a service; show its refusal in the user's language instead of failing the page."""
    try:
        action()
    except NotFound:
        raise Http404 from None
    except DomainError as refused:
        messages.error(request, str(refused.message))
        return False
    messages.success(request, success)
    return True


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    sessions = selectors.sessions_visible_to(user).order_by("-date", "start_time")
    class_id = request.GET.get("class")
    if class_id and class_id.isdigit():
        sessions = sessions.filter(class_group_id=int(class_id))
    day = request.GET.get("date")
    if day:
        sessions = sessions.filter(date=day)
    return render(
        request,
        "attendance/session_list.html",
        {
            "sessions": selectors.with_named_students(sessions[:200]),
            "classes": classes_visible_to(user).filter(is_active=True).order_by("name"),
            "can_manage": has_capability(user, Capability.MANAGE_SESSIONS),
        },
    )


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    session = get_object_or_404(selectors.sessions_visible_to(user), pk=pk)
    if request.method == "POST":
        marks = []
        for line in selectors.session_roster(session):
            status = request.POST.get(f"status-{line.enrolment.student_id}")
            if status:
                marks.append(
                    Mark(
                        line.enrolment.student_id,
                        status,
                        request.POST.get(f"reason-{line.enrolment.student_id}") or None,
                        request.POST.get(f"makeup-{line.enrolment.student_id}") == "on",
                    )
                )
        if _run(
            request,
            lambda: take_roll_call(
                actor=user,
                session=session,
                marks=marks,
                allow_overdraw=request.POST.get("allow_overdraw") == "on",
            ),
            _("Attendance saved."),
        ):
            return redirect("attendance:session", pk=session.pk)
    return render(
        request,
        "attendance/session_detail.html",
        {
            "session": session,
            "roster": selectors.session_roster(session),
            "history": selectors.mark_history(session),
            "reasons": selectors.absence_reasons(organization_id=user.tenant_id),
            "statuses": Attendance.Status.choices,
            "can_overdraw": has_capability(user, Capability.OVERDRAW_HOURS),
            "can_manage": has_capability(user, Capability.MANAGE_SESSIONS),
            "students_form": SessionStudentsForm(
                class_group=session.class_group, initial={"students": session.students.all()}
            )
            if session.kind == Session.Kind.EXTRA
            else None,
            "times_form": SessionTimesForm(
                initial={
                    "date": session.date,
                    "start_time": session.start_time,
                    "end_time": session.end_time,
                    "hours": session.hours,
                }
            ),
        },
    )


@login_required
@require_POST
def session_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    session = get_object_or_404(selectors.sessions_visible_to(user), pk=pk)
    form = SessionTimesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a date, a start and an end time."))
    else:
        data = form.cleaned_data
        _run(
            request,
            lambda: reschedule_session(
                actor=user,
                session=session,
                date=data["date"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                hours=data["hours"],
                note=data["note"],
            ),
            _("Session moved."),
        )
    return redirect("attendance:session", pk=session.pk)


@login_required
@require_POST
def session_students(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    session = get_object_or_404(selectors.sessions_visible_to(user), pk=pk)
    form = SessionStudentsForm(request.POST, class_group=session.class_group)
    if _students_valid(request, form):
        students = list(form.cleaned_data["students"])
        _run(
            request,
            lambda: set_session_students(actor=user, session=session, students=students),
            _("Students saved."),
        )
    return redirect("attendance:session", pk=session.pk)


def _students_valid(request: HttpRequest, form: SessionStudentsForm) -> bool:
    """A student who has left the class since the page was shown is refused with Django's message."""
    if form.is_valid():
        return True
    for error in form.errors.get("students", []):
        messages.error(request, str(error))
    return False


@login_required
@require_POST
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    session = get_object_or_404(selectors.sessions_visible_to(user), pk=pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    _run(request, lambda: cancel_session(actor=user, session=session, reason=reason), _("Session cancelled."))
    return redirect("attendance:session", pk=session.pk)


@login_required
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    group = get_object_or_404(classes_visible_to(user).select_related("course", "instructor"), pk=pk)
    enrolments = list(
        selectors.enrolments_visible_to(user).filter(class_group=group).order_by("student__name")
    )
    positions = selectors.hours_positions(enrolments)
    return render(
        request,
        "attendance/class_detail.html",
        {
            "group": group,
            "lines": [(e, positions[e.pk]) for e in enrolments],
            "totals": selectors.totals(positions.values()),
            "sessions": selectors.with_named_students(
                Session.objects.filter(class_group=group)
                .select_related("instructor")
                .order_by("date", "start_time")
            ),
            "times_form": SessionTimesForm(),
            "students_form": SessionStudentsForm(class_group=group),
            "can_manage": has_capability(user, Capability.MANAGE_SESSIONS),
        },
    )


@login_required
@require_POST
def class_generate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    group = get_object_or_404(classes_visible_to(user), pk=pk)
    holder: dict[str, Any] = {}

    def generate() -> None:
        holder["result"] = generate_sessions(actor=user, class_group=group)

    if _run(request, generate, _("Sessions generated.")):
        result = holder["result"]
        messages.info(
            request,
            _(
                "%(created)s new sessions; %(holidays)s public-holiday dates and "
                "%(closed)s closed dates skipped."
            )
            % {
                "created": result.created,
                "holidays": len(result.skipped_holidays),
                "closed": len(result.skipped_closed),
            },
        )
        if result.uncovered_years:
            messages.warning(
                request,
                _(
                    "Public holidays for %(years)s are provisional (not yet announced by the "
                    "State Council): check those sessions against the official notice."
                )
                % {"years": ", ".join(str(y) for y in result.uncovered_years)},
            )
    return redirect("attendance:class", pk=group.pk)


@login_required
@require_POST
def class_add_session(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    group = get_object_or_404(classes_visible_to(user), pk=pk)
    form = SessionTimesForm(request.POST)
    students_form = SessionStudentsForm(request.POST, class_group=group)
    if not form.is_valid():
        messages.error(request, _("Enter a date, a start and an end time."))
    elif _students_valid(request, students_form):
        data = form.cleaned_data
        students = list(students_form.cleaned_data["students"])
        _run(
            request,
            lambda: add_session(
                actor=user,
                class_group=group,
                date=data["date"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                hours=data["hours"],
                note=data["note"],
                students=students,
            ),
            _("Session added."),
        )
    return redirect("attendance:class", pk=group.pk)


@login_required
def enrolment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    enrolment = get_object_or_404(selectors.enrolments_visible_to(user), pk=pk)
    return render(
        request,
        "attendance/enrolment_detail.html",
        {
            "enrolment": enrolment,
            "position": selectors.hours_position(enrolment),
            "marks": enrolment.marks.select_related("session", "reason", "set_by").order_by(
                "-session__date", "-pk"
            ),
        },
    )


@login_required
def reasons(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = AbsenceReasonForm(request.POST or None)
    closed_form = ClosedDateForm()
    if request.method == "POST":
        if request.POST.get("defaults"):
            _run(request, lambda: install_default_reasons(actor=user), _("Default reasons added."))
            return redirect("attendance:reasons")
        if form.is_valid():
            data = form.cleaned_data
            if _run(request, lambda: save_absence_reason(actor=user, **data), _("Absence reason saved.")):
                return redirect("attendance:reasons")
    return render(
        request,
        "attendance/reasons.html",
        {
            "reasons": selectors.absence_reasons(organization_id=user.tenant_id, include_inactive=True),
            "form": form,
            "closed_form": closed_form,
            "settings_form": SettingsForm(instance=settings_for(user.tenant_id)),
            "closed_dates": ClosedDate.objects.filter(organization_id=user.tenant_id).select_related(
                "campus"
            ),
            "can_edit": has_capability(user, Capability.MANAGE_CATALOG),
        },
    )


@login_required
@require_POST
def closed_date_add(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ClosedDateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        _run(
            request,
            lambda: add_closed_date(actor=user, date=data["date"], reason=data["reason"]),
            _("Closed date added."),
        )
    else:
        messages.error(request, _("Enter a date."))
    return redirect("attendance:reasons")


@login_required
@require_POST
def closed_date_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    closed = get_object_or_404(ClosedDate, pk=pk, organization_id=user.tenant_id)
    _run(request, lambda: remove_closed_date(actor=user, closed=closed), _("Closed date removed."))
    return redirect("attendance:reasons")


@login_required
def renewals(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "attendance/renewals.html",
        {"renewal_groups": selectors.renewal_warnings(user=_user(request))},
    )


@login_required
@require_POST
def settings_update(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = SettingsForm(request.POST)
    if form.is_valid():
        _run(request, lambda: update_settings(actor=user, **form.cleaned_data), _("Settings saved."))
    else:
        messages.error(request, _("Check the settings: every number must be zero or more."))
    return redirect("attendance:reasons")
