"""Property-based run of every operation against the live app: no 5xx, nothing that breaks the schema."""

import re

import hypothesis
import pytest
import schemathesis
from api_helpers import RollCall, openapi_schema
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feedesk.api.services import create_api_token
from feedesk.attendance.models import Attendance
from feedesk.payments.services import record_payment

# Bounded so the whole run takes a few minutes on a small shared machine.
EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def aim(case, ids: dict[str, int], reason_code: str):
    """Point a generated body's ids (and absence-reason code) at real objects, so the request gets
    past the lookups into the services behind them."""
    if isinstance(case.body, dict):
        for name in case.body.keys() & ids.keys():
            case.body[name] = ids[name]
        if "reason_code" in case.body:
            case.body["reason_code"] = reason_code
    return case


def strategy(operation, ids: dict[str, int], reason_codes: list[str]):
    """Valid requests, valid requests aimed at real objects, and invalid requests."""
    names = re.findall(r"{(\w+)}", operation.path)
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    real = {name: ids[name] for name in names}
    if names:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    if operation.method.upper() in ("POST", "PATCH"):
        valid = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real or None)
        strategies.append(
            st.tuples(valid, st.sampled_from(reason_codes)).map(lambda pair: aim(pair[0], ids, pair[1]))
        )
    return st.one_of(strategies)


def fuzz(
    operation, *, base_url: str, headers: dict[str, str], ids: dict[str, int], reason_codes: list[str]
) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy(operation, ids, reason_codes))
    def run(case):
        response = case.call(base_url=base_url, headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_survives_generated_requests(live_server, school):
    roll = RollCall(school)  # the default absence reasons
    student, enrolment = roll.enrol()
    order = enrolment.orders.get()
    session = roll.session()  # in the past, so roll calls on it are open
    payment = record_payment(actor=school.cashier, student=student, amount=1_000, channel="cash")
    ids = {
        "student_id": student.pk,
        "guardian_id": school.guardian.pk,
        "class_id": school.klass.pk,
        "enrolment_id": enrolment.pk,
        "order_id": order.pk,
        "payment_id": payment.pk,
        "session_id": session.pk,
    }
    _token, raw = create_api_token(actor=None, user=school.principal, name="schemathesis")
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_dict(openapi_schema())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 27
    assert {"/api/v1/attendance", "/api/v1/absence-reasons"} <= {op.path for op in operations}
    failures: list[str] = []
    for operation in operations:
        try:
            fuzz(
                operation, base_url=live_server.url, headers=headers, ids=ids, reason_codes=list(roll.reasons)
            )
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # The aimed requests reached the roll call: the student has a mark for the session.
    assert Attendance.objects.filter(session=session, student=student).exists()


@pytest.fixture(autouse=True)
def _quiet_request_log(caplog):
    # Thousands of expected 4xx answers would otherwise flood the captured log.
    caplog.set_level("CRITICAL", logger="django.request")
