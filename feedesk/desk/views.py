"""Staff desk views: parse the form, call one service or selector, render."""

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from feedesk.attendance.selectors import renewal_warnings, student_hours
from feedesk.billing.models import OrderStatus
from feedesk.billing.selectors import payable_orders
from feedesk.billing.services import LineDraft, cancel_order, create_order, update_order_flags
from feedesk.catalog.selectors import classes_with_seats
from feedesk.core.errors import DomainError
from feedesk.core.money import to_major
from feedesk.core.permissions import Capability, has_capability, require
from feedesk.desk import forms as desk_forms
from feedesk.desk.helpers import form_error, get_order, get_payment, get_student, staff, staff_view
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.selectors import student_statement, trial_balance, verify_ledger
from feedesk.organizations.models import Campus
from feedesk.payments.models import Allocation
from feedesk.payments.selectors import (
    open_balances_total,
    payments_visible_to,
    propose_allocation,
    student_account,
    takings_by_channel,
)
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment
from feedesk.people.models import Student
from feedesk.people.selectors import guardians_of, search_students, siblings_of
from feedesk.people.services import create_guardian, create_student
from feedesk.users.models import User

LANGUAGE_SESSION_KEY = "feedesk_language"


def _posted(request: HttpRequest) -> Any:
    """The POST data (even when empty, so an empty submit is validated), or None on GET."""
    return request.POST if request.method == "POST" else None


class LoginView(auth_views.LoginView):
    template_name = "desk/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if user.language:
            self.request.session[LANGUAGE_SESSION_KEY] = user.language
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Remember the language on the profile, the session and the cookie, then go back."""
    form = desk_forms.LanguageForm(request.POST)
    target = request.POST.get("next") or reverse("desk:dashboard")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("desk:dashboard")
    response = HttpResponseRedirect(target)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            User.objects.filter(pk=request.user.pk).update(language=language)
        request.session[LANGUAGE_SESSION_KEY] = language
        translation.activate(language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


@staff_view
def dashboard(request: HttpRequest) -> HttpResponse:
    user = staff(request)
    today = timezone.localdate()
    takings = takings_by_channel(user=user, day=today)
    open_count, open_total = open_balances_total(user=user)
    recent = payments_visible_to(user).select_related("student").order_by("-received_at")[:10]
    return render(
        request,
        "desk/dashboard.html",
        {
            "today": today,
            "takings": takings,
            "takings_total": sum(t.amount for t in takings),
            "open_count": open_count,
            "open_total": open_total,
            "recent": recent,
            "renewal_groups": renewal_warnings(user=user),
        },
    )


@staff_view
def students(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    results = search_students(user=staff(request), query=query, limit=50)
    template = "desk/_student_results.html" if request.htmx else "desk/students.html"  # type: ignore[attr-defined]
    return render(request, template, {"query": query, "results": results})


def _campuses(user: User) -> Any:
    qs = Campus.objects.filter(organization_id=user.tenant_id).order_by("name")
    limited = user.campus_ids()
    return qs.filter(pk__in=limited) if limited is not None else qs


@staff_view
def student_new(request: HttpRequest) -> HttpResponse:
    user = staff(request)
    form = desk_forms.StudentForm(_posted(request), campuses=_campuses(user))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            guardians = [
                (create_guardian(actor=user, name=name, phone=phone), "other")
                for name, phone in form.guardians()
            ]
            student = create_student(
                actor=user,
                campus=form.cleaned_data["campus"],
                name=form.cleaned_data["name"],
                phone=form.cleaned_data["phone"],
                guardians=guardians,
            )
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(request, _("Student %(name)s registered.") % {"name": student.name})
            return redirect("desk:student", pk=student.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "desk/student_new.html", {"form": form}, status=status)


@staff_view
def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_student(request, pk)
    account = student_account(student=student)
    opening, statement = student_statement(student_id=student.pk)
    hour_lines, hour_totals = student_hours(student.pk)
    return render(
        request,
        "desk/student.html",
        {
            "student": student,
            "account": account,
            "statement": statement,
            "opening": opening,
            "hour_lines": hour_lines,
            "hour_totals": hour_totals,
            "siblings": siblings_of(student).select_related("campus"),
            "guardians": guardians_of(student),
        },
    )


def _pay_now_url(student: Student) -> str:
    return reverse("desk:collect", kwargs={"pk": student.pk})


@staff_view
def enrol(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff(request)
    student = get_student(request, pk)
    classes = classes_with_seats(user)
    form = desk_forms.EnrolForm(
        _posted(request),
        classes=classes,
        may_override=has_capability(user, Capability.OVERRIDE_CAPACITY),
        initial={"include_materials": True, "on_account": True},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _enrolment, order = enrol_student(
                actor=user,
                student=student,
                class_group=data["class_group"],
                hours=data["hours"],
                price_override=data["price_override"],
                discount=data.get("discount"),
                include_materials=data["include_materials"],
                include_registration=data["include_registration"],
                due_date=data["due_date"],
                on_account=data["on_account"],
                online_payable=data["online_payable"],
                external_notes=data["external_notes"],
                internal_notes=data["internal_notes"],
                override_capacity=data.get("override_capacity", False),
            )
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(
                request,
                _("%(student)s is enrolled in %(class)s; order #%(number)s issued.")
                % {"student": student.name, "class": data["class_group"].name, "number": order.number},
            )
            return redirect(reverse("desk:order", kwargs={"pk": order.pk}) + "?enrolled=1")
    elif request.method == "POST":
        status = 400
    return render(
        request, "desk/enrol.html", {"form": form, "student": student, "classes": classes}, status=status
    )


def _payment_form(request: HttpRequest, student: Student) -> desk_forms.PaymentForm:
    orders = list(payable_orders(student_id=student.pk))
    data = request.POST if request.method == "POST" else None
    if data is not None:
        # An order that stopped being payable after the form was shown stays on the form, so the
        # service refuses the allocation instead of the money silently going to credit.
        posted = {int(k[6:]) for k in data if k.startswith("alloc_") and k[6:].isdigit() and data[k].strip()}
        known = {o.pk for o in orders}
        orders += list(
            student.orders.filter(pk__in=posted - known)
            .exclude(status=OrderStatus.DRAFT)
            .order_by("due_date")
        )
    initial = {"idempotency_key": f"desk-{uuid.uuid4()}", "channel": "cash"}
    return desk_forms.PaymentForm(data, orders=orders, initial=initial)


def _allocation_context(form: desk_forms.PaymentForm, *, propose: bool) -> dict[str, Any]:
    """Amount, per-order allocations (proposed oldest-due-first or as typed) and what goes to credit."""
    amount_field = form.fields["amount"]
    try:
        amount = amount_field.clean(form.data.get("amount")) or 0
    except forms.ValidationError:
        amount = 0
    rows = []
    proposal = (
        dict((o.pk, a) for o, a in propose_allocation(orders=form.orders, amount=amount)) if propose else {}
    )
    allocated = 0
    for order, field in form.allocation_fields():
        if propose:
            value = proposal.get(order.pk, 0)
            shown = str(to_major(value)) if value else ""
        else:
            shown = form.data.get(field.html_name, "")
            try:
                value = form.fields[field.html_name].clean(shown) or 0
            except forms.ValidationError:
                value = 0
        allocated += value
        rows.append({"order": order, "field": field, "value": shown})
    return {"rows": rows, "amount": amount, "allocated": allocated, "to_credit": amount - allocated}


@staff_view
def collect_payment(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff(request)
    student = get_student(request, pk)
    form = _payment_form(request, student)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                payment = record_payment(
                    actor=user,
                    student=student,
                    amount=data["amount"],
                    channel=data["channel"],
                    reference=data["reference"],
                    received_at=data["received_at"],
                    allocations=[AllocationRequest(order_id=o, amount=a) for o, a in form.allocations()],
                    idempotency_key=data["idempotency_key"],
                )
            except DomainError as error:
                status = form_error(form, error)
            else:
                messages.success(
                    request, _("Payment recorded: receipt %(receipt)s.") % {"receipt": payment.receipt_number}
                )
                return redirect("desk:receipt", pk=payment.pk)
        else:
            status = 400
    context = {
        "form": form,
        "student": student,
        "siblings": siblings_of(student).select_related("campus"),
        "account": student_account(student=student),
        "alloc": _allocation_context(form, propose=request.method != "POST"),
    }
    return render(request, "desk/collect.html", context, status=status)


@staff_view
def allocation_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: recompute the allocation table when the amount (propose) or an allocation changes."""
    student = get_student(request, pk)
    form = _payment_form(request, student)
    propose = request.GET.get("propose") == "1"
    return render(request, "desk/_allocations.html", {"alloc": _allocation_context(form, propose=propose)})


@staff_view
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    payment = get_payment(request, pk)
    allocations = list(Allocation.objects.filter(payment=payment).select_related("order").order_by("pk"))
    allocated = sum(a.amount for a in allocations if a.amount > 0)
    return render(
        request,
        "desk/receipt.html",
        {
            "payment": payment,
            "allocations": [a for a in allocations if a.amount > 0],
            "to_credit": payment.amount - allocated,
            "credit_now": student_account(student=payment.student).credit,
        },
    )


@staff_view
def reverse_payment_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff(request)
    payment = get_payment(request, pk)
    form = desk_forms.ReverseForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            reverse_payment(actor=user, payment=payment, reason=form.cleaned_data["reason"])
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(
                request, _("Receipt %(receipt)s reversed.") % {"receipt": payment.receipt_number}
            )
            return redirect("desk:student", pk=payment.student_id)
    return render(request, "desk/reverse.html", {"form": form, "payment": payment}, status=status)


def _order_context(request: HttpRequest, order: Any, **forms: Any) -> dict[str, Any]:
    allocations = order.allocations.select_related("payment").order_by("pk")
    return {
        "order": order,
        "lines": order.lines.all(),
        "allocations": allocations,
        "credit": student_account(student=order.student).credit,
        "flags_form": forms.get("flags_form")
        or desk_forms.FlagsForm(
            initial={
                "online_payable": order.online_payable,
                "due_date": order.due_date,
                "external_notes": order.external_notes,
                "internal_notes": order.internal_notes,
            }
        ),
        "cancel_form": forms.get("cancel_form") or desk_forms.CancelForm(),
        "credit_form": forms.get("credit_form") or desk_forms.CreditForm(),
        "enrolled": request.GET.get("enrolled") == "1",
        "forms_with_errors": [f for f in forms.values() if f.non_field_errors()],
    }


@staff_view
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order(request, pk)
    return render(request, "desk/order.html", _order_context(request, order))


@staff_view
@require_POST
def order_flags(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order(request, pk)
    form = desk_forms.FlagsForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            update_order_flags(
                actor=staff(request),
                order=order,
                online_payable=data["online_payable"],
                due_date=data["due_date"],
                external_notes=data["external_notes"],
                internal_notes=data["internal_notes"],
            )
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(request, _("Order #%(number)s updated.") % {"number": order.number})
            return redirect("desk:order", pk=order.pk)
    return render(request, "desk/order.html", _order_context(request, order, flags_form=form), status=status)


@staff_view
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order(request, pk)
    form = desk_forms.CancelForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            cancel_order(actor=staff(request), order=order, reason=form.cleaned_data["reason"])
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(request, _("Order #%(number)s cancelled.") % {"number": order.number})
            return redirect("desk:order", pk=order.pk)
    return render(request, "desk/order.html", _order_context(request, order, cancel_form=form), status=status)


@staff_view
@require_POST
def order_apply_credit(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order(request, pk)
    form = desk_forms.CreditForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            apply_credit(
                actor=staff(request), student=order.student, order=order, amount=form.cleaned_data["amount"]
            )
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(request, _("Credit applied to order #%(number)s.") % {"number": order.number})
            return redirect("desk:order", pk=order.pk)
    return render(request, "desk/order.html", _order_context(request, order, credit_form=form), status=status)


@staff_view
def manual_order(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff(request)
    student = get_student(request, pk)
    form = desk_forms.ManualOrderForm(_posted(request), initial={"on_account": True})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = create_order(
                actor=user,
                student=student,
                lines=[
                    LineDraft(kind=kind, description=description, unit_price=price, quantity=quantity)
                    for description, kind, price, quantity in form.lines()
                ],
                discount=data.get("discount"),
                due_date=data["due_date"],
                on_account=data["on_account"],
                online_payable=data["online_payable"],
                external_notes=data["external_notes"],
                internal_notes=data["internal_notes"],
            )
        except DomainError as error:
            status = form_error(form, error)
        else:
            messages.success(request, _("Order #%(number)s issued.") % {"number": order.number})
            return redirect("desk:order", pk=order.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "desk/manual_order.html", {"form": form, "student": student}, status=status)


@staff_view
def ledger_trial_balance(request: HttpRequest) -> HttpResponse:
    user = staff(request)
    require(user, Capability.VIEW_LEDGER)
    report = trial_balance(organization_id=user.tenant_id)
    return render(request, "desk/trial_balance.html", {"report": report})


@staff_view
def ledger_verify(request: HttpRequest) -> HttpResponse:
    user = staff(request)
    require(user, Capability.VIEW_LEDGER)
    report = verify_ledger(organization_id=user.tenant_id)
    return render(request, "desk/verify.html", {"report": report})
