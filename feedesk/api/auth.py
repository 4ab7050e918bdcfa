from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from feedesk.api.services import authenticate_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`; the request then acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        return user
