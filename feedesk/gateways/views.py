"""Thin views: provider callbacks (authenticated by signature), the simulated pay page, settings."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from feedesk.core.errors import DomainError, PermissionDenied
from feedesk.gateways import services, simulation
from feedesk.gateways.forms import GatewayConfigForm
from feedesk.gateways.models import OnlinePayment, OnlineStatus
from feedesk.gateways.registry import simulated_allowed
from feedesk.gateways.selectors import gateway_config_for


def _answer(result: services.CallbackResult) -> HttpResponse:
    answer = result.answer
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


@csrf_exempt
@require_POST
def wechat_notify(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _answer(
        services.handle_callback(
            provider="wechat", org_slug=org_slug, headers=dict(request.headers), body=request.body
        )
    )


@csrf_exempt
@require_POST
def alipay_notify(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _answer(
        services.handle_callback(
            provider="alipay", org_slug=org_slug, headers=dict(request.headers), body=request.body
        )
    )


def payment_return(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    """Where the payer lands after the provider: ask the provider first, then say what happened."""
    online = get_object_or_404(OnlinePayment, out_trade_no=out_trade_no)
    online = services.refresh_online_payment(online_payment=online)
    return render(request, "gateways/result.html", {"online": online, "statuses": OnlineStatus})


@require_http_methods(["GET", "POST"])
def sim_pay(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    if not simulated_allowed():
        raise Http404
    online = simulation.pay_page_payment(out_trade_no)
    if online is None:
        raise Http404
    if request.method == "POST":
        simulation.complete(online=online, paid=request.POST.get("action") == "pay")
        return redirect("gateways:return", out_trade_no=online.out_trade_no)
    return render(request, "gateways/sim_pay.html", {"online": online, "statuses": OnlineStatus})


@csrf_exempt
def sim_api(request: HttpRequest, path: str) -> HttpResponse:
    """The simulated provider's v3 HTTP API, for the demo's queries (tests use a local server)."""
    if not simulated_allowed():
        raise Http404
    prefix = request.path[: -len(path)] if path else request.path
    signed_path = request.get_full_path()[len(prefix) - 1 :]
    status, headers, body = simulation.handle_api(
        method=request.method or "GET",
        path=signed_path,
        headers=dict(request.headers),
        body=request.body.decode("utf-8", "replace"),
    )
    response = HttpResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@login_required
@require_http_methods(["GET", "POST"])
def gateway_settings(request: HttpRequest) -> HttpResponse:
    try:
        config = gateway_config_for(actor=request.user)  # type: ignore[arg-type]
    except PermissionDenied as denied:
        return HttpResponseForbidden(str(denied.message))
    form = GatewayConfigForm(request.POST or None, config=config)
    saved = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            config = services.save_gateway_config(
                actor=request.user,  # type: ignore[arg-type]
                active=data["active"],
                sandbox=data["sandbox"],
                values={k: v for k, v in data.items() if k not in ("active", "sandbox")},
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            saved = True
            form = GatewayConfigForm(config=config)
    return render(request, "gateways/settings.html", {"form": form, "saved": saved, "config": config})
