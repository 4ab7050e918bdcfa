"""Requests machines make take the stateless middleware stack; pages people use keep the full one."""

import io
import sys

import pytest
from django.core.signals import request_started
from django.db import close_old_connections

from config.wsgi import application
from feedesk.core.handlers import RoutedWSGIApplication, is_stateless


@pytest.mark.parametrize(
    ("path", "stateless"),
    [
        ("/api/v1/students/7/account", True),
        ("/api/v1/openapi.json", True),
        ("/healthz", True),
        ("/readyz", True),
        ("/gateways/wechat/north-school/notify/", True),
        ("/gateways/alipay/north-school/notify/", True),
        ("/gateways/sim/v3/pay/transactions/native", True),
        # The simulated provider's cashier page is a page a parent uses, with a form.
        ("/gateways/sim/pay/FD123/", False),
        ("/gateways/return/FD123/", False),
        ("/gateways/settings/", False),
        ("/portal/", False),
        ("/portal/cart/checkout/", False),
        ("/", False),
        ("/apix", False),
        ("/healthz/extra", False),
        ("/static/api/swagger-ui/swagger-ui.css", False),
    ],
)
def test_paths_are_routed_to_the_stack_they_need(path, stateless):
    assert is_stateless(path) is stateless
    assert isinstance(application, RoutedWSGIApplication)
    expected = application.machines if stateless else application.pages
    assert application.handler_for(path) is expected


@pytest.fixture
def served():
    """Requests straight into the WSGI application, inside the test's transaction (as Django's
    test client does, the start of a request does not close the connection)."""
    request_started.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)


def test_the_served_application_answers_a_probe_down_the_stateless_stack(served):
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=dict(headers))

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    body = b"".join(served(environ, start_response))
    assert started["status"] == "200 OK"
    assert body == b'{"status": "ok"}'
    # Security headers still come from the stateless stack; no cookie is set.
    assert started["headers"]["X-Content-Type-Options"] == "nosniff"
    assert started["headers"]["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in started["headers"]
