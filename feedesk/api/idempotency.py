"""Stripe-style Idempotency-Key handling for every POST.

One transaction per keyed request: take the key (an advisory lock on PostgreSQL; SQLite's single
write lock), replay the stored response if the key was used before, otherwise run the work and
record the key with its response before committing. The key and the work therefore commit
together or not at all: a crash leaves neither, and the client's retry simply runs again.
Work may write the record with its own last statement (`answer_in_writes`): a payment does, so
that it is written with the posting.
"""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.renderers import JSONRenderer
from pydantic import BaseModel

from feedesk.api.errors import domain_error_response
from feedesk.api.services import (
    StoredResponse,
    begin_keyed_request,
    check_idempotency_key,
    request_fingerprint,
    response_record,
)
from feedesk.core import sql
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


class PendingAnswer:
    """A keyed request's answer, for work that writes it with its own last statement."""

    def __init__(self, request: HttpRequest, record: Callable[[HttpResponse], sql.Statement]) -> None:
        self.request = request
        self.record = record
        self.response: HttpResponse | None = None

    def statement(self, status: int, data: BaseModel) -> sql.Statement:
        """The answer (`status`, `data`) rendered, and the statement that records it with the key."""
        response = render(self.request, status, data)
        statement = self.record(response)
        self.response = response
        return statement


_PENDING = "_feedesk_pending_answer"


def answer_in_writes(request: HttpRequest) -> PendingAnswer | None:
    """For work run by run_write: the keyed request's answer, to write with the work's last
    statement (run_write then records nothing more); None without a key."""
    return getattr(request, _PENDING, None)


class _Refused(Exception):
    """The work refused the request; raised through the transaction so that the work rolls back."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def run_write(request: HttpRequest, work: Work) -> HttpResponse:
    """Run `work` (a service call returning (status, schema)) under the request's Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        with transaction.atomic():
            status, data = work()
        return render(request, status, data)
    check_idempotency_key(key)
    user: Any = request.auth  # type: ignore[attr-defined]
    method, path = request.method or "POST", request.get_full_path()
    fingerprint = request_fingerprint(method=method, path=path, body=request.body)

    def record(response: HttpResponse) -> sql.Statement:
        stored = StoredResponse(
            status=response.status_code, body=response.content, content_type=response["Content-Type"]
        )
        return response_record(
            user=user, key=key, method=method, path=path, fingerprint=fingerprint, response=stored
        )

    def store(response: HttpResponse) -> None:
        sql.execute_together([record(response)])

    pending = PendingAnswer(request, record)
    try:
        with transaction.atomic():
            stored = begin_keyed_request(user=user, key=key, fingerprint=fingerprint)
            if stored is not None:
                return replay(stored)
            setattr(request, _PENDING, pending)
            try:
                status, data = work()
            except DomainError as exc:
                raise _Refused(domain_error_response(exc)) from exc
            except IntegrityError as exc:
                raise _Refused(integrity_conflict()) from exc
            finally:
                delattr(request, _PENDING)
            if pending.response is not None:  # written with the work's last statement
                response = pending.response
            else:
                response = render(request, status, data)
                store(response)
        return response
    except _Refused as refused:
        response = refused.response
    # A refusal is the request's answer too, replayed like a success. The work rolled back with
    # its transaction (no savepoint around it: a payment is two round trips shorter), so the
    # answer is stored in a transaction of its own, under the key taken again.
    with transaction.atomic():
        stored = begin_keyed_request(user=user, key=key, fingerprint=fingerprint)
        if stored is not None:
            return replay(stored)
        store(response)
    return response


def replay(stored: StoredResponse) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status, content_type=stored.content_type)
    response["Idempotent-Replayed"] = "true"
    return response
