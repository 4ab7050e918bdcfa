"""The API's one error envelope: {"error": {"code", "message", "details"}}."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from feedesk.core.errors import DomainError


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> HttpResponse:
    body = json.dumps(
        {"error": {"code": code, "message": message, "details": details or {}}},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def domain_error_response(exc: DomainError) -> HttpResponse:
    return error_response(exc.http_status, exc.code, str(exc.message), _jsonable(exc.details))


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(details, cls=DjangoJSONEncoder, default=str))
