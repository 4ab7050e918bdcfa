"""The health checks a load balancer polls: liveness touches nothing, readiness asks the database."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_the_database_or_a_session(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(queries) == 0
    assert not response.cookies
    assert "no-store" in response["Cache-Control"]


def test_readiness_asks_the_database_once(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert [q["sql"] for q in queries] == ["SELECT 1"]


def test_readiness_is_503_when_the_database_does_not_answer(client):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "databases_unreachable": ["default"]}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_only_answer_reads(client, path):
    assert client.post(path).status_code == 405
    assert client.head(path).status_code == 200
