"""Portal pages. Thin: each asks a selector or calls a service; scoping lives in PortalViewer."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from feedesk.core.errors import DomainError, NotFound
from feedesk.core.money import format_money, parse_amount
from feedesk.payments.selectors import student_account
from feedesk.portal import absences, services
from feedesk.portal.notify import show_codes_on_screen
from feedesk.portal.selectors import (
    PortalViewer,
    cart_order_ids,
    family_payments,
    payable_orders,
    receipt_for,
    viewer_for,
    viewer_settings,
    with_purposes,
)
from feedesk.users.models import User

SESSION_STUDENT = "portal_student"
SESSION_PICK = "portal_pick"

View = Callable[..., HttpResponse]


def portal_view(func: View) -> View:
    """Signed-in guardians and students only; another family's ids are 404; refusals become messages."""

    @wraps(func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        viewer = viewer_for(request.user)  # type: ignore[arg-type]
        if viewer is None:
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        try:
            return func(request, viewer, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except DomainError as problem:
            messages.error(request, str(problem.message))
            return redirect(_back(request))

    return wrapper


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("portal:home")


def _current_student(request: HttpRequest, viewer: PortalViewer) -> Any:
    chosen = request.session.get(SESSION_STUDENT)
    for student in viewer.students:
        if student.pk == chosen:
            return student
    return viewer.students[0] if viewer.students else None


def _context(
    request: HttpRequest, viewer: PortalViewer, *, in_cart: set[int] | None = None, **extra: Any
) -> dict[str, Any]:
    """What every page shows: pass `in_cart` (the cart's order ids) when the view has read the cart."""
    options = viewer_settings(viewer)
    if options.carts_enabled and in_cart is None:
        in_cart = cart_order_ids(viewer)
    return {
        "viewer": viewer,
        "current_student": _current_student(request, viewer),
        "payments_on": options.carts_enabled,
        "allow_partial": options.allow_partial,
        "cart_count": len(in_cart or ()) if options.carts_enabled else 0,
        **extra,
    }


def _order_ids(cart: Any) -> set[int]:
    return {item.order_id for item in cart.items.all()} if cart is not None else set()


def _client_kind(request: HttpRequest) -> str:
    agent = request.headers.get("User-Agent", "")
    if "MicroMessenger" in agent:
        return "wechat_browser"
    if any(word in agent for word in ("Mobile", "Android", "iPhone")):
        return "phone"
    return "desktop"


# -- signing in ----------------------------------------------------------------------------------
def _sign_in(request: HttpRequest, user: User) -> HttpResponse:
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    if user.language:
        request.session["feedesk_language"] = user.language
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("portal:home")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        accounts = services.authenticate_portal(
            phone=request.POST.get("phone", ""), password=request.POST.get("password", "")
        )
        if len(accounts) == 1:
            return _sign_in(request, accounts[0].user)
        if accounts:
            # The same phone at two schools: the password is checked, now say which school.
            request.session[SESSION_PICK] = [a.user.pk for a in accounts]
            return render(
                request,
                "portal/choose_school.html",
                {"accounts": accounts, "next": request.POST.get("next", "")},
            )
        messages.error(request, _("The phone number or password is not right."))
    return render(
        request,
        "portal/login.html",
        {
            "next": request.GET.get("next", request.POST.get("next", "")),
            "phone": request.POST.get("phone", ""),
        },
    )


@require_POST
def choose_school(request: HttpRequest) -> HttpResponse:
    allowed = request.session.pop(SESSION_PICK, [])
    chosen = request.POST.get("user", "")
    if not chosen.isdigit() or int(chosen) not in allowed:
        messages.error(request, _("Please sign in again."))
        return redirect("portal:login")
    return _sign_in(request, User.objects.get(pk=int(chosen)))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:login")


@require_http_methods(["GET", "POST"])
def code_request(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        phone = request.POST.get("phone", "")
        try:
            sent = services.request_reset_code(phone=phone)
        except DomainError as problem:
            messages.error(request, str(problem.message))
            return render(request, "portal/code_request.html", {"phone": phone})
        messages.info(
            request,
            _("If this number has a portal account, a code is on its way. It is valid for 15 minutes."),
        )
        return render(
            request,
            "portal/code_set.html",
            {
                "phone": services.clean_phone(phone),
                "demo_codes": sent.on_screen if show_codes_on_screen() else [],
            },
        )
    return render(request, "portal/code_request.html", {})


@require_http_methods(["GET", "POST"])
def code_set(request: HttpRequest) -> HttpResponse:
    phone = request.POST.get("phone", request.GET.get("phone", ""))
    if request.method == "POST":
        password = request.POST.get("password", "")
        if password != request.POST.get("password2", ""):
            messages.error(request, _("The two passwords are not the same."))
        else:
            try:
                user = services.set_password_with_code(
                    phone=phone, code=request.POST.get("code", ""), new_password=password
                )
            except DomainError as problem:
                messages.error(request, str(problem.message))
            else:
                messages.success(request, _("Your password is set. Welcome!"))
                return _sign_in(request, user)
    return render(request, "portal/code_set.html", {"phone": phone})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    response = redirect(_back(request))
    if language in dict(settings.LANGUAGES) and check_for_language(language):
        request.session["feedesk_language"] = language
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        if request.user.is_authenticated and viewer_for(request.user) is not None:
            User.objects.filter(pk=request.user.pk).update(language=language)
    return response


# -- pages ---------------------------------------------------------------------------------------
@require_GET
@portal_view
def home(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    in_cart = _sync(viewer)
    children = [(s, student_account(student=s)) for s in viewer.students]
    return render(request, "portal/home.html", _context(request, viewer, in_cart=in_cart, children=children))


@require_POST
@portal_view
def switch_child(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    student = viewer.get_student(request.POST.get("student"))
    request.session[SESSION_STUDENT] = student.pk
    return redirect(_back(request))


@require_GET
@portal_view
def courses(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    from feedesk.portal.courses import upcoming_courses

    student = _current_student(request, viewer)
    options = viewer_settings(viewer)
    in_cart = cart_order_ids(viewer) if options.carts_enabled else set()
    cards = (
        upcoming_courses(viewer=viewer, student=student, in_cart=in_cart if options.carts_enabled else None)
        if student
        else []
    )
    # The reasons are offered only on sessions whose absence may still be reported.
    editable = any(row.editable for card in cards for row in card.sessions)
    reasons = absences.student_reasons(viewer.organization.pk) if editable else []
    return render(
        request,
        "portal/courses.html",
        _context(request, viewer, in_cart=in_cart, cards=cards, reasons=reasons),
    )


@require_POST
@portal_view
def absence(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    """Absent?: report leave for a coming session with a reason students may use, or change it."""
    absences.report(
        viewer=viewer,
        student_id=request.POST.get("student", ""),
        session_id=request.POST.get("session", ""),
        reason_code=request.POST.get("reason", ""),
    )
    messages.success(request, _("Thank you, the school has been told."))
    return redirect(_back(request))


@require_POST
@portal_view
def absence_clear(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    """Take back leave reported here for a coming session, before the cut-off."""
    absences.withdraw(
        viewer=viewer,
        student_id=request.POST.get("student", ""),
        session_id=request.POST.get("session", ""),
    )
    messages.success(request, _("Your absence report has been withdrawn."))
    return redirect(_back(request))


@require_GET
@portal_view
def pay(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    if not viewer_settings(viewer).carts_enabled:
        raise Http404
    in_cart = _order_ids(services.current_cart(viewer))
    orders = payable_orders(viewer, with_class=True)
    rows = [(o, purpose, o.pk in in_cart) for o, purpose in with_purposes(orders)]
    return render(request, "portal/pay.html", _context(request, viewer, in_cart=in_cart, rows=rows))


def _amount_from(request: HttpRequest) -> int | None:
    text = request.POST.get("amount", "").strip()
    return parse_amount(text) if text else None


@require_POST
@portal_view
def cart_add(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    item = services.add_to_cart(
        viewer=viewer, order_id=request.POST.get("order", ""), amount=_amount_from(request)
    )
    messages.success(request, _("Order #%(number)s is in your cart.") % {"number": item.order.number})
    return redirect(_back(request))


@require_POST
@portal_view
def cart_remove(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    services.remove_from_cart(viewer=viewer, order_id=request.POST.get("order", ""))
    return redirect("portal:cart")


@require_GET
@portal_view
def cart(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    if not viewer_settings(viewer).carts_enabled:
        raise Http404
    the_cart = services.current_cart(viewer)
    lines = services.cart_lines(viewer, the_cart) if the_cart is not None else []
    total = sum(line.amount for line in lines)
    pay_url = ""
    if the_cart is not None and the_cart.status == the_cart.Status.FROZEN and the_cart.out_trade_no:
        pay_url = reverse("portal:checkout_return")
    return render(
        request,
        "portal/cart.html",
        _context(
            request,
            viewer,
            in_cart=_order_ids(the_cart),
            cart=the_cart,
            lines=lines,
            total=total,
            pay_url=pay_url,
        ),
    )


@require_POST
@portal_view
def cart_checkout(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    expected = request.POST.get("total", "")
    result = services.checkout(
        viewer=viewer,
        client=_client_kind(request),
        return_url=request.build_absolute_uri(reverse("portal:checkout_return")),
        client_ip=request.META.get("REMOTE_ADDR", ""),
        expected_total=int(expected) if expected.isdigit() else None,
    )
    if result.notices:
        for notice in result.notices:
            messages.warning(request, notice)
        messages.info(request, _("Please check your cart and pay again."))
        return redirect("portal:cart")
    action = result.action
    if getattr(action, "kind", "") == "redirect":
        return redirect(str(getattr(action, "url", "")))
    return render(request, "portal/pay_action.html", _context(request, viewer, action=action, result=result))


@require_GET
@portal_view
def checkout_return(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    """Where the payer comes back from the gateway: ask the provider before saying anything."""
    from feedesk.portal.models import Cart

    last = services.sync_cart(viewer=viewer, ask_provider=True)
    if last is None:
        last = (
            Cart.objects.filter(owner=viewer.user, organization=viewer.organization).order_by("-pk").first()
        )
    if last is not None and last.status == Cart.Status.PAID and last.payment_id:
        messages.success(request, _("Thank you, your payment was received."))
        return redirect("portal:receipt", payment_id=last.payment_id)
    if last is not None and last.status == Cart.Status.FROZEN:
        return render(request, "portal/pending.html", _context(request, viewer, cart=last))
    messages.warning(request, _("The payment did not go through; nothing was charged. You can try again."))
    return redirect("portal:cart")


def _sync(viewer: PortalViewer) -> set[int] | None:
    """Bring the cart up to date with its payment; the order ids in it (None with payments off)."""
    if viewer_settings(viewer).carts_enabled:
        return _order_ids(services.current_cart(viewer))
    return None


@require_GET
@portal_view
def receipts(request: HttpRequest, viewer: PortalViewer) -> HttpResponse:
    payments = family_payments(viewer).prefetch_related("allocations__order__student")
    return render(request, "portal/receipts.html", _context(request, viewer, payments=payments))


def _receipt_context(viewer: PortalViewer, payment_id: int) -> dict[str, Any]:
    payment = receipt_for(viewer, payment_id)
    allocations = list(payment.allocations.all())  # read with the payment, in the order made
    allocated = sum(a.amount for a in allocations)
    return {
        "payment": payment,
        "allocations": allocations,
        "to_credit": payment.amount - allocated if payment.status == payment.Status.RECEIVED else 0,
        "school": viewer.organization,
        "amount_text": format_money(payment.amount, viewer.organization.currency),
    }


@require_GET
@portal_view
def receipt(request: HttpRequest, viewer: PortalViewer, payment_id: int) -> HttpResponse:
    return render(
        request, "portal/receipt.html", _context(request, viewer, **_receipt_context(viewer, payment_id))
    )


@require_GET
@portal_view
def receipt_download(request: HttpRequest, viewer: PortalViewer, payment_id: int) -> HttpResponse:
    context = _receipt_context(viewer, payment_id)
    body = render_to_string("portal/receipt_print.html", context, request=request)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="receipt-{context["payment"].receipt_number}.html"'
    )
    return response
