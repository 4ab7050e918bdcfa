"""The JSON API v1: one NinjaAPI with bearer-token auth and the error envelope everywhere."""

import json
from typing import Any

from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger

from feedesk.api.auth import TokenAuth
from feedesk.api.errors import domain_error_response, error_response
from feedesk.api.idempotency import integrity_conflict
from feedesk.api.routers import attendance, billing, catalog, ledger, payments, people
from feedesk.core.errors import DomainError


class VendoredSwagger(Swagger):
    """Swagger UI from the copy in feedesk/api/static, so the docs work offline."""

    template = "api/swagger.html"

    def render_page(self, request: HttpRequest, api: "NinjaAPI", **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        return render(
            request, self.template, {"swagger_settings": json.dumps(self.settings, indent=1), "api": api}
        )


api = NinjaAPI(
    title="FeeDesk API",
    version="1",
    description=(
        "Students, catalog, orders, payments, attendance and the ledger. Money is in integer minor units."
    ),
    auth=TokenAuth(),
    urls_namespace="api-v1",
    docs=VendoredSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return domain_error_response(exc)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = json.loads(json.dumps(exc.errors, default=str))
    for error in errors:
        error.pop("url", None)
    return error_response(422, "invalid_request", _("The request is not valid."), {"errors": errors})


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        401, "not_authenticated", _("Send a valid API token: Authorization: Bearer <token>.")
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = "invalid_request" if exc.status_code == 400 else "http_error"
    return error_response(exc.status_code, code, str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


@api.exception_handler(IntegrityError)
def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    return integrity_conflict()


for module in (people, catalog, billing, payments, attendance, ledger):
    api.add_router("", module.router)
