"""One app, two middleware stacks: the pages people use in a browser, and the requests machines make.

The stateless stack (settings.STATELESS_MIDDLEWARE, for paths matching settings.STATELESS_PATHS)
leaves out what only a browser needs: the session, the CSRF cookie, the signed-in user, messages
and static files. An API read costs about a seventh less CPU without them.
"""

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler


@cache
def _stateless_paths() -> re.Pattern[str]:
    return re.compile(settings.STATELESS_PATHS)


def is_stateless(path_info: str) -> bool:
    return _stateless_paths().match(path_info) is not None


class StatelessStack(BaseHandler):
    """A handler whose middleware chain is settings.STATELESS_MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler builds the chain from settings.MIDDLEWARE and takes no list of its own.
        # The chain is built once, as the process starts, before any request is served.
        pages = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.STATELESS_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = pages


class StatelessWSGIHandler(StatelessStack, WSGIHandler):
    pass


class RoutedWSGIApplication:
    """The WSGI application: each request goes down the stack its path calls for."""

    def __init__(self) -> None:
        self.pages = WSGIHandler()
        self.machines = StatelessWSGIHandler()

    def handler_for(self, path_info: str) -> WSGIHandler:
        return self.machines if is_stateless(path_info) else self.pages

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.handler_for(environ.get("PATH_INFO", "/"))(environ, start_response)
