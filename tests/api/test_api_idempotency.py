"""Idempotency-Key semantics: replay, reuse with another body, in-flight duplicates, crashes, cleanup."""

import datetime
import io
import threading

import pytest
from api_helpers import ApiClient, assert_error
from django.core.management import call_command
from django.db import connections
from django.utils import timezone, translation

from feedesk.api import idempotency as idempotency_module
from feedesk.api.models import IdempotencyKey
from feedesk.api.services import key_lock_id
from feedesk.attendance.models import Attendance
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import EntryCode, JournalEntry
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.models import Payment


def pay_body(student, amount=10_000, **extra):
    return {"student_id": student.pk, "amount": amount, "channel": "cash", **extra}


def test_replay_returns_the_first_status_and_body_byte_for_byte(school):
    api = ApiClient(school.cashier)
    student = school.student()
    first = api.post("/payments", pay_body(student), key="k-1")
    assert first.status_code == 201
    again = api.post("/payments", pay_body(student), key="k-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert IdempotencyKey.objects.get(key="k-1").response_status == 201


def test_same_key_with_a_different_body_is_422(school):
    api = ApiClient(school.cashier)
    student = school.student()
    assert api.post("/payments", pay_body(student), key="k-2").status_code == 201
    changed = api.post("/payments", pay_body(student, amount=10_001), key="k-2")
    assert_error(changed, 422, "idempotency_key_reused")
    other_path = api.post("/guardians", {"name": "x", "phone": "13600000000"}, key="k-2")
    assert_error(other_path, 422, "idempotency_key_reused")
    assert Payment.objects.count() == 1


def test_a_refusal_is_stored_and_replayed_too(school):
    api = ApiClient(school.cashier)
    student = school.student()
    body = pay_body(student, allocations=[{"order_id": 424242, "amount": 100}])
    first = api.post("/payments", body, key="k-3")
    assert_error(first, 404)
    assert api.post("/payments", body, key="k-3").content == first.content
    assert not Payment.objects.exists()


def test_a_refusal_after_writes_began_keeps_only_the_stored_answer(school, monkeypatch):
    """The work runs without a savepoint: a refusal halfway rolls everything back, then the
    refusal alone is stored under the key and replayed."""
    from feedesk.core.errors import Conflict
    from feedesk.payments import services as payment_services

    api = ApiClient(school.cashier)
    student = school.student()
    entries_before = JournalEntry.objects.count()

    real_post_entries = payment_services.post_entries

    def refuse(**kwargs):
        real_post_entries(**kwargs)  # the entries, the payment and its audit row are written
        raise Conflict("refused after the payment was written", code="refused_late")

    monkeypatch.setattr(payment_services, "post_entries", refuse)
    first = api.post("/payments", pay_body(student), key="k-late")
    assert_error(first, 409, "refused_late")
    monkeypatch.undo()
    assert not Payment.objects.exists()
    assert JournalEntry.objects.count() == entries_before
    assert IdempotencyKey.objects.get(key="k-late").response_status == 409
    again = api.post("/payments", pay_body(student), key="k-late")
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert not Payment.objects.exists()
    assert verify_ledger().ok


def test_a_request_while_the_first_is_running_is_409(postgres_only, school):
    api = ApiClient(school.cashier)
    student = school.student()
    # Another connection holds the key, as the first request's transaction does while it runs.
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def first_request() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key_lock_id(school.cashier.pk, "k-4")])
            held.set()
            release.wait(30)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key_lock_id(school.cashier.pk, "k-4")])
        connections["default"].close()
        done.set()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert held.wait(30)
        assert_error(api.post("/payments", pay_body(student), key="k-4"), 409, "idempotency_in_progress")
        # Another body under the busy key is refused the same way: the key is taken.
        assert_error(
            api.post("/payments", pay_body(student, amount=1), key="k-4"), 409, "idempotency_in_progress"
        )
    finally:
        release.set()
        thread.join(30)
    assert done.is_set()
    assert not Payment.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert api.post("/payments", pay_body(student), key="k-4").status_code == 201


def test_a_crash_after_the_work_leaves_neither_work_nor_key(school, monkeypatch):
    api = ApiClient(school.cashier)
    student = school.student()
    entries_before = JournalEntry.objects.count()

    def crash(*args, **kwargs):
        raise RuntimeError("process died while storing the response")

    # The record of the key is built last, just before the posting's statement that writes it.
    monkeypatch.setattr(idempotency_module, "response_record", crash)
    with pytest.raises(RuntimeError):
        api.post("/payments", pay_body(student), key="k-6")
    assert not Payment.objects.exists()
    assert JournalEntry.objects.count() == entries_before
    assert not IdempotencyKey.objects.filter(key="k-6").exists()
    monkeypatch.undo()
    assert api.post("/payments", pay_body(student), key="k-6").status_code == 201
    assert Payment.objects.count() == 1
    assert verify_ledger().ok


def test_a_crash_storing_the_answer_of_other_work_leaves_neither_work_nor_key(school, monkeypatch):
    api = ApiClient(school.cashier)
    student = school.student()
    body = {"student_id": student.pk, "class_id": school.klass.pk}

    def crash(*args, **kwargs):
        raise RuntimeError("process died while storing the response")

    monkeypatch.setattr(idempotency_module, "response_record", crash)
    with pytest.raises(RuntimeError):
        api.post("/enrolments", body, key="enrol-crash")
    assert student.enrolments.count() == 0
    assert not IdempotencyKey.objects.filter(key="enrol-crash").exists()
    monkeypatch.undo()
    assert api.post("/enrolments", body, key="enrol-crash").status_code == 201


def test_keys_are_scoped_per_user(school):
    student = school.student()
    first = ApiClient(school.cashier).post("/payments", pay_body(student), key="shared")
    second = ApiClient(school.finance).post("/payments", pay_body(student), key="shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert Payment.objects.count() == 2


def test_without_a_key_money_requests_are_not_deduplicated(school):
    api = ApiClient(school.cashier)
    student = school.student()
    assert api.post("/payments", pay_body(student)).status_code == 201
    assert api.post("/payments", pay_body(student)).status_code == 201
    assert Payment.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_every_post_honours_the_key(school):
    api = ApiClient(school.cashier)
    student = school.student()
    body = {"student_id": student.pk, "class_id": school.klass.pk}
    first = api.post("/enrolments", body, key="enrol-1")
    assert first.status_code == 201
    assert api.post("/enrolments", body, key="enrol-1").content == first.content
    assert student.enrolments.count() == 1


def test_an_overlong_key_is_refused(school):
    response = ApiClient(school.cashier).post("/payments", pay_body(school.student()), key="k" * 256)
    assert_error(response, 400, "idempotency_key_invalid")


def test_purge_removes_only_keys_older_than_a_day_and_is_safe_to_rerun(school):
    api = ApiClient(school.cashier)
    student = school.student()
    api.post("/payments", pay_body(student), key="old")
    api.post("/payments", pay_body(student, amount=20_000), key="new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - datetime.timedelta(hours=25))
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "1 idempotency keys deleted" in out.getvalue()
    call_command("purge_idempotency_keys", stdout=out)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    # The API calls above leave the school's language (zh-hans) active; assert the English text.
    with translation.override("en"), pytest.raises(Exception, match="24 hours"):
        call_command("purge_idempotency_keys", hours=1)


def test_enrolment_order_and_payment_replay_together(school):
    api = ApiClient(school.cashier)
    student = school.student()
    _enrolment, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    body = pay_body(student, amount=order.total, allocations=[{"order_id": order.pk, "amount": order.total}])
    first = api.post("/payments", body, key="full")
    again = api.post("/payments", body, key="full")
    assert first.content == again.content
    order.refresh_from_db()
    assert order.paid == order.total


def test_attendance_replay_is_byte_identical_and_posts_one_entry(school, roll):
    api = ApiClient(school.instructor)
    student, enrolment = roll.enrol()
    session = roll.session()
    present = {"session_id": session.pk, "student_id": student.pk, "status": "present"}
    first = api.post("/attendance", present, key="att-1")
    assert first.status_code == 201
    again = api.post("/attendance", present, key="att-1")
    assert (again.status_code, again.content) == (201, first.content)
    assert again["Idempotent-Replayed"] == "true"
    assert JournalEntry.objects.filter(code=EntryCode.CONSUMPTION).count() == 1
    assert Attendance.objects.count() == 1
    assert Enrolment.objects.get(pk=enrolment.pk).consumed_hours == 1

    assert_error(
        api.post("/attendance", {**present, "status": "absent"}, key="att-1"), 422, "idempotency_key_reused"
    )
    # A correction under its own key; replaying the first key afterwards answers what it answered
    # then and does not put the old mark back.
    sick = {**present, "status": "leave", "reason_code": "sick"}
    corrected = api.post("/attendance", sick, key="att-2")
    assert corrected.status_code == 201
    assert api.post("/attendance", sick, key="att-2").content == corrected.content
    assert api.post("/attendance", present, key="att-1").content == first.content
    assert JournalEntry.objects.filter(code=EntryCode.REVERSAL).count() == 1
    assert JournalEntry.objects.filter(code=EntryCode.CONSUMPTION).count() == 1
    current = Attendance.objects.get(session=session, student=student, is_current=True)
    assert (current.status, current.reason.code) == ("leave", "sick")
    assert Enrolment.objects.get(pk=enrolment.pk).consumed_hours == 0
    assert verify_ledger().ok


def test_attendance_refusal_is_replayed_without_retrying(school, roll):
    api = ApiClient(school.instructor)
    student, _enrolment = roll.enrol(klass=school.lesson_class, hours=1)
    used, short = roll.session(klass=school.lesson_class), roll.session(klass=school.lesson_class)
    assert (
        api.post(
            "/attendance", {"session_id": used.pk, "student_id": student.pk, "status": "present"}
        ).status_code
        == 201
    )
    body = {"session_id": short.pk, "student_id": student.pk, "status": "present"}
    refused = api.post("/attendance", body, key="att-short")
    assert_error(refused, 409, "hours_exhausted")
    assert api.post("/attendance", body, key="att-short").content == refused.content
    assert not Attendance.objects.filter(session=short).exists()


def test_a_keyed_payment_records_its_answer_with_its_posting(school):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = ApiClient(school.cashier)
    student = school.student()
    api.get(f"/students/{student.pk}/account")  # the token's first use is noted once
    with CaptureQueriesContext(connection) as captured:
        first = api.post("/payments", pay_body(student), key="with-posting")
    assert first.status_code == 201
    # The test's own transaction turns the request's into a savepoint: those are not counted.
    statements = [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    records = [s for s in statements if "api_idempotencykey" in s and s.startswith(("INSERT", "WITH"))]
    if connection.vendor == "postgresql":
        # Token, key lock, stored answer, student, replay check, orders, receipt number with
        # keys, accounts with the chain head, then one statement: the posting, the payment's
        # rows and the answer.
        assert len(statements) == 9
        [record] = records
        assert "ledger_journalentry" in record and "payments_payment" in record
    else:
        assert len(records) == 1
    replay = api.post("/payments", pay_body(student), key="with-posting")
    assert replay.content == first.content and replay["Idempotent-Replayed"] == "true"
    assert IdempotencyKey.objects.get(key="with-posting").response_body == first.content
