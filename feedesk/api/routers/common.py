"""Small helpers shared by the routers: the acting user, visible-object lookup, paging, hours."""

from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from feedesk.api.schemas import ErrorOut, Paging
from feedesk.core.errors import NotFound
from feedesk.people.models import Student
from feedesk.people.selectors import visible_student
from feedesk.users.models import User

M = TypeVar("M", bound=Model)
T = TypeVar("T")

ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def actor(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def currency(request: HttpRequest) -> str:
    return actor(request).organization.currency  # type: ignore[union-attr]


def found(obj: T | None, pk: int) -> T:
    """The object a visibility lookup returned; none (another organization's or campus's) is 404."""
    if obj is None:
        raise NotFound(_("Not found."), id=pk)
    return obj


def visible(qs: QuerySet[M], pk: int) -> M:
    """The object if the user can see it; another organization's or campus's object is 404."""
    return found(qs.filter(pk=pk).first(), pk)


def visible_student_or_404(user: User, student_id: int) -> Student:
    return found(visible_student(user=user, student_id=student_id), student_id)


def page(qs: QuerySet[M], paging: Paging) -> tuple[list[M], int]:
    return list(qs[paging.offset : paging.offset + paging.limit]), qs.count()


def hours(value: Decimal) -> Decimal:
    """Hours always with two decimals ("48.00"), however the database returned them."""
    return Decimal(value).quantize(Decimal("0.01"))
