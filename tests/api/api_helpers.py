"""API test helpers: a JSON client acting with a token of a given user, and the OpenAPI schema."""

import json
from functools import cache

from django.test import Client
from routedclient import RoutedClient
from sessiondays import SessionDays

from feedesk.api.services import create_api_token
from feedesk.attendance.services import install_default_reasons
from feedesk.enrolment.services import enrol_student


class ApiClient:
    def __init__(self, user, client: Client | None = None) -> None:
        self.user = user
        _token, self.token = create_api_token(actor=user, user=user, name="tests")
        self.client = client or RoutedClient()

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


@cache
def openapi_schema() -> dict:
    from feedesk.api.api import api

    return json.loads(json.dumps(api.get_openapi_schema(), default=str))


API_PREFIX = "/api/v1"


def assert_conforms(response, method: str, template: str) -> dict:
    """The response's status is documented for the operation and its JSON body matches the schema."""
    import jsonschema_rs

    doc = openapi_schema()
    operation = doc["paths"][API_PREFIX + template][method.lower()]
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {template} answered {status}, documents {sorted(documented)}"
    schema = documented[status]["content"]["application/json"]["schema"]
    body = json.loads(response.content)
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})
    errors = [str(e) for e in validator.iter_errors(body)]
    assert not errors, f"{method} {template} {status}: {errors[:3]}"
    return body


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


class RollCall(SessionDays):
    """A school's default absence reasons (sick, personal, no_show, school_event), enrolled
    students and dated sessions, for the attendance endpoints."""

    def __init__(self, school) -> None:
        super().__init__(school)
        self.reasons = {r.code: r for r in install_default_reasons(actor=school.principal)}

    def enrol(self, name="张三", klass=None, campus=None, **kwargs):
        student = self.school.student(name=name, campus=campus)
        enrolment, _order = enrol_student(
            actor=self.school.cashier, student=student, class_group=klass or self.school.klass, **kwargs
        )
        return student, enrolment
