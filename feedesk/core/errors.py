"""Domain errors: a stable code for machines and a translated message for people."""

from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A refused business operation. Nothing was written when one is raised."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str | Promise, *, code: str | None = None, **details: Any) -> None:
        super().__init__(str(message))
        self.message = message
        if code:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return str(self.message)


class ValidationFailed(DomainError):
    code = "validation_error"
    http_status = 400


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class IllegalTransition(DomainError):
    code = "illegal_transition"
    http_status = 409
