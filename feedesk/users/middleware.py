from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


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
