"""A token of organization A never reads, changes or pays anything of organization B: 404, no change."""

import json

import pytest
from api_helpers import ApiClient, RollCall, assert_error

from feedesk.attendance.models import AbsenceReason, Attendance, MakeupCredit
from feedesk.attendance.services import save_absence_reason
from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import JournalEntry
from feedesk.payments.models import Allocation, Payment
from feedesk.payments.services import record_payment
from feedesk.people.models import Guardian, Student


@pytest.fixture
def theirs(other_school):
    """Organization B's objects, one of each kind."""
    student = other_school.student(name="外校学生")
    enrolment, order = enrol_student(
        actor=other_school.cashier, student=student, class_group=other_school.klass
    )
    payment = record_payment(
        actor=other_school.cashier, student=student, amount=10_000, channel="cash", idempotency_key="b-1"
    )
    return {
        "school": other_school,
        "student": student,
        "guardian": other_school.guardian,
        "enrolment": enrolment,
        "order": order,
        "payment": payment,
    }


def snapshot() -> tuple:
    return (
        Payment.objects.count(),
        Order.objects.count(),
        Allocation.objects.count(),
        JournalEntry.objects.count(),
        AuditEntry.objects.count(),
        list(Student.objects.order_by("pk").values_list("pk", "name", "campus_id", "phone", "school")),
        list(Guardian.objects.order_by("pk").values_list("pk", "name", "phone", "email")),
        list(Order.objects.order_by("pk").values_list("pk", "status", "paid")),
        list(Payment.objects.order_by("pk").values_list("pk", "status")),
        Attendance.objects.count(),
        MakeupCredit.objects.count(),
        list(Enrolment.objects.order_by("pk").values_list("pk", "consumed_hours", "recognised_amount")),
    )


def test_reads_of_another_organization_are_404(school, theirs):
    b = theirs
    api = ApiClient(school.principal)
    for path in (
        f"/students/{b['student'].pk}",
        f"/students/{b['student'].pk}/account",
        f"/students/{b['student'].pk}/statement",
        f"/guardians/{b['guardian'].pk}",
        f"/enrolments/{b['enrolment'].pk}",
        f"/orders/{b['order'].pk}",
        f"/payments/{b['payment'].pk}",
        f"/classes/{b['school'].klass.pk}/sessions",
    ):
        error = assert_error(api.get(path), 404, "not_found")
        assert "外校" not in json.dumps(error, ensure_ascii=False)


def test_lists_never_show_another_organization(school, theirs):
    b = theirs
    api = ApiClient(school.principal)
    school.student(name="本校学生")
    for path, params in (
        ("/students", {}),
        ("/students", {"search": "外校"}),
        ("/orders", {"student_id": b["student"].pk}),
        ("/payments", {"student_id": b["student"].pk}),
        ("/subjects", {}),
        ("/courses", {}),
        ("/classes", {}),
    ):
        body = api.get(path, **params).json()
        ours = {
            "/students": set(Student.objects.filter(organization=school.org).values_list("pk", flat=True)),
        }.get(path)
        if params:
            assert body["count"] == 0, (path, params, body)
        elif ours is not None:
            assert {item["id"] for item in body["items"]} <= ours
        for item in body["items"]:
            assert "外校" not in json.dumps(item, ensure_ascii=False)
    tb = api.get("/ledger/trial-balance").json()
    assert tb["total_debits"] == 0  # organization A has posted nothing; B's money is not in it
    assert api.get("/ledger/verify").json()["entries_checked"] == 0


def test_writes_on_another_organization_are_404_and_change_nothing(school, theirs):
    b = theirs
    bs = b["school"]
    api = ApiClient(school.principal)
    ours = school.student(name="本校学生")
    _enrolment, our_order = enrol_student(actor=school.cashier, student=ours, class_group=school.klass)
    before = snapshot()
    attempts = [
        ("patch", f"/students/{b['student'].pk}", {"name": "改名"}),
        ("patch", f"/guardians/{b['guardian'].pk}", {"name": "改名"}),
        ("patch", f"/students/{ours.pk}", {"campus_id": bs.campus.pk}),
        ("patch", f"/students/{ours.pk}", {"guardians": [{"guardian_id": b["guardian"].pk}]}),
        ("patch", f"/students/{ours.pk}", {"adviser_id": bs.adviser.pk}),
        ("post", "/students", {"campus_id": bs.campus.pk, "name": "x"}),
        (
            "post",
            "/students",
            {"campus_id": school.campus.pk, "name": "x", "guardians": [{"guardian_id": b["guardian"].pk}]},
        ),
        (
            "post",
            "/guardians",
            {"name": "x", "phone": "13700000009", "students": [{"student_id": b["student"].pk}]},
        ),
        (
            "post",
            "/courses",
            {"subject_id": bs.subject.pk, "name": "x", "price_model": "per_lesson", "lesson_price": 1},
        ),
        (
            "post",
            "/classes",
            {
                "course_id": bs.lesson_course.pk,
                "campus_id": school.campus.pk,
                "name": "x",
                "instructor_id": school.instructor.pk,
                "capacity": 1,
                "start_date": "2026-09-01",
                "end_date": "2026-09-30",
                "schedule": [{"weekday": 1, "start_time": "09:00", "end_time": "10:00"}],
            },
        ),
        (
            "post",
            "/classes",
            {
                "course_id": school.lesson_course.pk,
                "campus_id": school.campus.pk,
                "name": "x",
                "instructor_id": bs.instructor.pk,
                "capacity": 1,
                "start_date": "2026-09-01",
                "end_date": "2026-09-30",
                "schedule": [{"weekday": 1, "start_time": "09:00", "end_time": "10:00"}],
            },
        ),
        (
            "post",
            "/enrolments",
            {"student_id": b["student"].pk, "class_id": school.lesson_class.pk, "hours": 1},
        ),
        ("post", "/enrolments", {"student_id": ours.pk, "class_id": bs.lesson_class.pk, "hours": 1}),
        (
            "post",
            "/orders",
            {
                "student_id": b["student"].pk,
                "lines": [{"kind": "other", "description": "x", "unit_price": 100}],
            },
        ),
        ("post", f"/orders/{b['order'].pk}/cancel", {}),
        ("post", "/payments", {"student_id": b["student"].pk, "amount": 100, "channel": "cash"}),
        (
            "post",
            "/payments",
            {
                "student_id": ours.pk,
                "amount": 100,
                "channel": "cash",
                "allocations": [{"order_id": b["order"].pk, "amount": 100}],
            },
        ),
        ("post", "/payments", {"student_id": b["student"].pk, "amount": 100, "channel": "credit"}),
        ("post", f"/payments/{b['payment'].pk}/reverse", {"reason": "x"}),
        ("post", f"/students/{b['student'].pk}/apply-credit", {"order_id": b["order"].pk, "amount": 100}),
        ("post", f"/students/{ours.pk}/apply-credit", {"order_id": b["order"].pk, "amount": 100}),
    ]
    for index, (method, path, body) in enumerate(attempts):
        response = api.patch(path, body) if method == "patch" else api.post(path, body, key=f"iso-{index}")
        assert_error(response, 404, "not_found")
        assert snapshot() == before, (method, path)
    assert Order.objects.get(pk=our_order.pk).paid == 0


def their_own_reason(other_school) -> None:
    """An absence reason only organization B has."""
    save_absence_reason(
        actor=other_school.principal,
        code="away_match",
        name="外校比赛",
        name_en="Away match",
        rule="no_deduct",
    )


def test_attendance_of_another_organization_is_404_and_changes_nothing(school, other_school):
    ours, theirs = RollCall(school), RollCall(other_school)
    our_student, _ = ours.enrol(name="本校学生")
    our_session = ours.session()
    their_student, _ = theirs.enrol(name="外校学生")
    their_session = theirs.session()
    their_own_reason(other_school)
    api = ApiClient(school.principal)
    before = snapshot()
    for index, (session, student) in enumerate(
        ((their_session, their_student), (their_session, our_student), (our_session, their_student))
    ):
        for status in ("present", "absent"):
            body = {"session_id": session.pk, "student_id": student.pk, "status": status}
            error = assert_error(
                api.post("/attendance", body, key=f"att-iso-{index}-{status}"), 404, "not_found"
            )
            assert "外校" not in json.dumps(error, ensure_ascii=False)
            assert snapshot() == before, body
    # A code only the other school has is not one of ours: refused as unknown, nothing written.
    body = {
        "session_id": our_session.pk,
        "student_id": our_student.pk,
        "status": "leave",
        "reason_code": "away_match",
    }
    error = assert_error(api.post("/attendance", body), 400, "reason_unknown")
    assert "外校" not in json.dumps(error, ensure_ascii=False)
    assert snapshot() == before


def test_absence_reasons_list_only_the_schools_own(school, other_school):
    RollCall(school)
    RollCall(other_school)
    their_own_reason(other_school)
    body = ApiClient(school.principal).get("/absence-reasons", include_inactive="true").json()
    ours = set(AbsenceReason.objects.filter(organization=school.org).values_list("pk", flat=True))
    assert {r["id"] for r in body["items"]} == ours and body["count"] == len(ours) == 4
    assert "away_match" not in {r["code"] for r in body["items"]}
