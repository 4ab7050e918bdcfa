"""Idempotency under real parallel connections: a live server on PostgreSQL and many client threads."""

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from feedesk.api.routers import payments as payments_router
from feedesk.api.services import create_api_token
from feedesk.attendance.models import Attendance
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import EntryCode, JournalEntry
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.models import Payment


def post(base: str, token: str, path: str, body: dict, key: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        },
    )
    # The test server's listen backlog is small: a refused connection is retried, as any client
    # would, and retrying is exactly what the same Idempotency-Key makes safe.
    for attempt in range(20):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (ConnectionError, urllib.error.URLError):
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("the server never accepted the connection")


@pytest.fixture
def live(postgres_only, live_server, school):
    _token, raw = create_api_token(actor=None, user=school.cashier, name="concurrency")
    return live_server.url, raw


def test_fifty_identical_payments_at_once_create_exactly_one(live, school):
    base, token = live
    student = school.student()
    body = {"student_id": student.pk, "amount": 12_800, "channel": "wechat_pay"}
    barrier = threading.Barrier(50)

    def send(_i: int) -> tuple[int, bytes]:
        barrier.wait()
        return post(base, token, "/payments", body, key="same-key")

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(send, range(50)))

    assert Payment.objects.filter(student=student).count() == 1
    statuses = [status for status, _body in results]
    assert set(statuses) <= {201, 409}, statuses
    created = {content for status, content in results if status == 201}
    assert len(created) == 1  # every 201 is the one payment, byte for byte
    for status, content in results:
        if status == 409:
            assert json.loads(content)["error"]["code"] == "idempotency_in_progress"
    status, replay = post(base, token, "/payments", body, key="same-key")
    assert (status, replay) == (201, next(iter(created)))
    assert verify_ledger().ok


def test_in_flight_duplicate_is_409_then_replays(live, school, monkeypatch):
    base, token = live
    student = school.student()
    body = {"student_id": student.pk, "amount": 5_000, "channel": "cash"}
    entered, release = threading.Event(), threading.Event()
    real = payments_router.record_payment

    def slow_record_payment(**kwargs):
        entered.set()
        assert release.wait(30)
        return real(**kwargs)

    # The live server runs in this process, so the first request can be held inside the service.
    monkeypatch.setattr(payments_router, "record_payment", slow_record_payment)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post, base, token, "/payments", body, "slow-key")
        try:
            assert entered.wait(30)
            status, content = post(base, token, "/payments", body, "slow-key")
            assert status == 409 and json.loads(content)["error"]["code"] == "idempotency_in_progress"
            # While the key is busy, any request under it is told so, whatever its body.
            changed = post(base, token, "/payments", {**body, "amount": 5_001}, "slow-key")
            assert changed[0] == 409 and json.loads(changed[1])["error"]["code"] == "idempotency_in_progress"
        finally:
            release.set()
        first_status, first_content = first.result(timeout=60)
    assert first_status == 201
    changed = post(base, token, "/payments", {**body, "amount": 5_001}, "slow-key")
    assert changed[0] == 422 and json.loads(changed[1])["error"]["code"] == "idempotency_key_reused"
    assert post(base, token, "/payments", body, "slow-key") == (201, first_content)
    assert Payment.objects.filter(student=student).count() == 1


def test_twenty_clients_marking_one_student_at_once_write_one_mark(live, school, roll):
    base, token = live
    student, enrolment = roll.enrol()
    session = roll.session()
    body = {"session_id": session.pk, "student_id": student.pk, "status": "present"}
    barrier = threading.Barrier(20)

    def send(i: int) -> tuple[int, bytes]:
        barrier.wait()
        return post(base, token, "/attendance", body, key=f"desk-{i}")  # twenty different clients

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, range(20)))

    # The session lock queues them: one writes the mark, the others find it already there.
    assert sorted(status for status, _body in results) == [200] * 19 + [201], results
    assert len({content for _status, content in results}) == 1
    assert Attendance.objects.filter(session=session).count() == 1
    assert JournalEntry.objects.filter(code=EntryCode.CONSUMPTION).count() == 1
    assert Enrolment.objects.get(pk=enrolment.pk).consumed_hours == 1
    assert verify_ledger().ok
