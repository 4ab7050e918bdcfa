"""Stripe-style Idempotency-Key handling for every POST.

A key is claimed in its own committed transaction (an `in_progress` row with a lease). The work,
its stored response and the flip to `done` then commit together in one transaction that holds the
claim row locked, so a crash leaves either nothing done (the claim is retaken once its lease ends)
or the work done with its response stored — never one without the other.
"""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.renderers import JSONRenderer
from pydantic import BaseModel

from feedesk.api.errors import domain_error_response, error_response
from feedesk.api.services import (
    Claim,
    StoredResponse,
    claim_key,
    complete_claim,
    lock_claim,
    release_claim,
    request_fingerprint,
)
from feedesk.core.errors import Conflict, DomainError

renderer = JSONRenderer()
Work = Callable[[], tuple[int, BaseModel]]


def render(request: HttpRequest, status: int, data: BaseModel) -> HttpResponse:
    content = renderer.render(request, data.model_dump(by_alias=True), response_status=status)
    return HttpResponse(content, status=status, content_type=f"{renderer.media_type}; charset=utf-8")


def integrity_conflict() -> HttpResponse:
    return domain_error_response(
        Conflict(_("This conflicts with data that already exists."), code="conflict")
    )


def run_write(request: HttpRequest, work: Work) -> HttpResponse:
    """Run `work` (a service call returning (status, schema)) under the request's Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    user: Any = request.auth  # type: ignore[attr-defined]
    if key is None:
        with transaction.atomic():
            status, data = work()
        return render(request, status, data)
    outcome = claim_key(
        user=user,
        key=key,
        method=request.method or "POST",
        path=request.get_full_path(),
        fingerprint=request_fingerprint(
            method=request.method or "POST", path=request.get_full_path(), body=request.body
        ),
    )
    if isinstance(outcome, StoredResponse):
        replay = HttpResponse(outcome.body, status=outcome.status, content_type=outcome.content_type)
        replay["Idempotent-Replayed"] = "true"
        return replay
    return _execute(request, outcome, work)


def _execute(request: HttpRequest, claim: Claim, work: Work) -> HttpResponse:
    try:
        with transaction.atomic():
            if not lock_claim(claim):
                # Our lease ran out and another request took the key over: it owns the work now.
                return error_response(
                    409,
                    "idempotency_in_progress",
                    _("A request with this Idempotency-Key is still being processed; retry shortly."),
                )
            try:
                with transaction.atomic():
                    status, data = work()
                response = render(request, status, data)
            except DomainError as exc:
                # A refusal is the request's answer too: stored and replayed like a success.
                response = domain_error_response(exc)
            except IntegrityError:
                response = integrity_conflict()
            complete_claim(
                claim,
                StoredResponse(
                    status=response.status_code, body=response.content, content_type=response["Content-Type"]
                ),
            )
        return response
    except BaseException:
        release_claim(claim)
        raise
