"""Shared pieces of the desk views: scoped look-ups, the staff guard and service error handling."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from feedesk.billing.models import Order
from feedesk.billing.selectors import orders_visible_to
from feedesk.core.errors import DomainError, NotFound, PermissionDenied
from feedesk.core.money import parse_amount
from feedesk.payments.models import Payment
from feedesk.payments.selectors import payments_visible_to
from feedesk.people.models import Student
from feedesk.people.selectors import students_visible_to
from feedesk.users.models import User

View = Callable[..., HttpResponse]


def staff_view(view: View) -> View:
    """Signed-in staff of an organization only; a refused service call becomes a 403/404 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)
        if user.organization_id is None:
            return refused(request, PermissionDenied(_("This account belongs to no organization.")))
        try:
            return view(request, *args, **kwargs)
        except (PermissionDenied, NotFound) as error:
            return refused(request, error)

    return wrapper


def refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    if isinstance(error, NotFound):
        raise Http404(str(error.message))
    return render(request, "desk/refused.html", {"message": error.message}, status=error.http_status)


def staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def get_student(request: HttpRequest, pk: int) -> Student:
    """A student of the user's organization and campuses; anything else does not exist (404)."""
    student = students_visible_to(staff(request)).select_related("campus").filter(pk=pk).first()
    if student is None:
        raise Http404(_("Student not found."))
    return student


def get_order(request: HttpRequest, pk: int) -> Order:
    order = orders_visible_to(staff(request)).select_related("student", "campus").filter(pk=pk).first()
    if order is None:
        raise Http404(_("Order not found."))
    return order


def get_payment(request: HttpRequest, pk: int) -> Payment:
    payment = (
        payments_visible_to(staff(request))
        .select_related("student", "campus", "recorded_by", "reversed_by", "organization")
        .filter(pk=pk)
        .first()
    )
    if payment is None:
        raise Http404(_("Payment not found."))
    return payment


def form_error(form: forms.Form, error: DomainError) -> int:
    """Show a refused service call on the form (the user's input stays) and pick the status."""
    form.add_error(None, str(error.message))
    return error.http_status if error.http_status in (403, 409) else 400


class AmountField(forms.CharField):
    """A money field: the user types yuan ("128.50"), the form yields fen, via core.money."""

    def __init__(self, *, allow_zero: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            return parse_amount(value, allow_zero=self.allow_zero)
        except DomainError as error:
            raise forms.ValidationError(str(error.message), code=error.code) from None
