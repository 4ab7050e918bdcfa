"""Staff pages of the portal: Web options → Carts & Checkout, and inviting guardians and students."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from feedesk.core.errors import DomainError
from feedesk.core.permissions import Capability, has_capability
from feedesk.people.models import Guardian, Student
from feedesk.portal import services
from feedesk.portal.selectors import portal_settings
from feedesk.users.models import User


@login_required
@require_http_methods(["GET", "POST"])
def carts_settings(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not has_capability(user, Capability.MANAGE_PORTAL):
        raise Http404
    if request.method == "POST":
        try:
            services.update_portal_settings(
                actor=user,
                carts_enabled=request.POST.get("carts_enabled") == "on",
                allow_partial=request.POST.get("allow_partial") == "on",
            )
        except DomainError as problem:
            messages.error(request, str(problem.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("portal:carts_settings")
    return render(request, "portal/staff/carts_settings.html", {"options": portal_settings(user.tenant_id)})


def _invitation_page(request: HttpRequest, invitation: services.Invitation, name: str) -> HttpResponse:
    return render(request, "portal/staff/invitation.html", {"invitation": invitation, "name": name})


@login_required
@require_POST
def invite_guardian_view(request: HttpRequest, guardian_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    guardian = Guardian.objects.filter(pk=guardian_id, organization_id=user.tenant_id).first()
    if guardian is None:
        raise Http404
    try:
        invitation = services.invite_guardian(actor=user, guardian=guardian)
    except DomainError as problem:
        messages.error(request, str(problem.message))
        return redirect(request.META.get("HTTP_REFERER") or "/")
    return _invitation_page(request, invitation, guardian.name)


@login_required
@require_POST
def invite_student_view(request: HttpRequest, student_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    student = Student.objects.filter(pk=student_id, organization_id=user.tenant_id).first()
    if student is None:
        raise Http404
    try:
        invitation = services.invite_student(actor=user, student=student)
    except DomainError as problem:
        messages.error(request, str(problem.message))
        return redirect(request.META.get("HTTP_REFERER") or "/")
    return _invitation_page(request, invitation, student.name)
