"""API test helpers: a JSON client acting with a token of a given user, and the OpenAPI schema."""

import json
from functools import cache

import pytest
from django.test import Client

from feedesk.api.services import create_api_token


class ApiClient:
    def __init__(self, user, client: Client | None = None) -> None:
        self.user = user
        _token, self.token = create_api_token(actor=user, user=user, name="tests")
        self.client = client or Client()

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(None))

    def post(self, path: str, body=None, *, key: str | None = None, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self._headers(key)
        )

    def patch(self, path: str, body):
        return self.client.patch(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=self._headers(None)
        )


@pytest.fixture
def api_for(db):
    return ApiClient


@pytest.fixture
def cashier_api(school):
    return ApiClient(school.cashier)


@pytest.fixture
def principal_api(school):
    return ApiClient(school.principal)


@cache
def openapi_schema() -> dict:
    from feedesk.api.api import api

    return api.get_openapi_schema()
