from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from feedesk.users.sessions import finding_user_of


class UserLanguageMiddleware:
    """A signed-in user's profile language wins over the browser's Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie there is no profile language to find (API calls, first visits).
        signed_in = settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "session")
        language = request.session.get("feedesk_language") if signed_in else None
        if language:
            request.COOKIES.setdefault("django_language", language)
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
            translation.activate(language)
        return self.get_response(request)


class SessionUserAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's, except that the user read with the session is taken without reading it again."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))  # type: ignore[assignment]


def _user_of(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        # Django's checks (backend, session hash) run as they are; only the user's read is saved.
        with finding_user_of(request.session):
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]
