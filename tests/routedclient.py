"""Django's test client, sending each request down the middleware stack production sends it."""

from django.test import Client
from django.test.client import ClientHandler

from feedesk.core.handlers import StatelessStack, is_stateless


class StatelessClientHandler(StatelessStack, ClientHandler):
    pass


class RoutedClient(Client):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages = self.handler
        self._machines = StatelessClientHandler(self._pages.enforce_csrf_checks)

    def request(self, **request):
        self.handler = self._machines if is_stateless(request["PATH_INFO"]) else self._pages
        return super().request(**request)
