"""The health checks a load balancer polls: liveness touches nothing, readiness asks the database."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from feedesk.core import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def unchecked():
    """A process that has not yet seen its database migrated."""
    health._migrated.clear()
    yield
    health._migrated.clear()


def test_liveness_answers_without_the_database_or_a_session(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(queries) == 0
    assert not response.cookies
    assert "no-store" in response["Cache-Control"]


def test_readiness_checks_migrations_once_then_asks_only_select_1(client, unchecked):
    first = client.get("/readyz")
    assert first.status_code == 200
    assert first.json() == {"status": "ok"}
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/readyz")
    assert again.status_code == 200
    assert [q["sql"] for q in queries] == ["SELECT 1"]


def test_readiness_is_503_while_migrations_are_unapplied(client, unchecked):
    pending = [(mock.sentinel.migration, False)]
    with mock.patch.object(MigrationExecutor, "migration_plan", return_value=pending):
        refused = client.get("/readyz")
    assert refused.status_code == 503
    assert refused.json() == {
        "status": "unavailable",
        "databases_unreachable": [],
        "databases_unmigrated": ["default"],
    }
    # Once `migrate` has run, the next probe lets the process in.
    assert client.get("/readyz").status_code == 200


def test_readiness_is_503_when_the_database_does_not_answer(client, unchecked):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "databases_unreachable": ["default"],
        "databases_unmigrated": [],
    }
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_only_answer_reads(client, path):
    assert client.post(path).status_code == 405
    assert client.head(path).status_code == 200
