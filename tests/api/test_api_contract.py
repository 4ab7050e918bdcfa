"""Every endpoint: status codes, response shape against the published OpenAPI schema, integer money,
and the error envelope for bad input."""

import datetime
import io
import json
from decimal import Decimal

import pytest
from api_helpers import ApiClient, assert_conforms, assert_error
from django.core.management import call_command

from feedesk.attendance.models import Attendance, MakeupCredit
from feedesk.attendance.selectors import hours_position
from feedesk.attendance.services import cancel_session, generate_sessions, save_absence_reason
from feedesk.billing.models import Order
from feedesk.catalog.models import ClassGroup
from feedesk.core.permissions import Role
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import EntryCode, JournalEntry
from feedesk.ledger.selectors import student_statement, trial_balance, verify_ledger
from feedesk.payments.models import Payment
from feedesk.payments.selectors import student_account
from feedesk.users.models import User

MONEY_FIELDS = {"amount", "total", "paid", "balance", "balance_due", "overdue", "credit", "unit_price"}


def assert_integer_money(value) -> None:
    """Every money-like field anywhere in a body is an int, never a float or a string."""
    if isinstance(value, dict):
        for key, item in value.items():
            is_money = key in MONEY_FIELDS or key.endswith(("_amount", "_price", "_fee", "_balance"))
            if is_money and item is not None:
                assert isinstance(item, int) and not isinstance(item, bool), (key, item)
            assert_integer_money(item)
    elif isinstance(value, list):
        for item in value:
            assert_integer_money(item)


def ok(response, method: str, template: str, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    body = assert_conforms(response, method, template)
    assert_integer_money(body)
    return body


def test_full_flow_through_every_endpoint(school):
    principal = ApiClient(school.principal)
    cashier = ApiClient(school.cashier)

    subject = ok(principal.post("/subjects", {"code": "piano", "name": "钢琴"}), "post", "/subjects", 201)
    ok(principal.get("/subjects"), "get", "/subjects")
    course = ok(
        principal.post(
            "/courses",
            {
                "subject_id": subject["id"],
                "name": "钢琴 24 课时",
                "price_model": "package",
                "package_hours": "24",
                "package_price": 480_000,
                "gift_hours": 2,
                "materials_fee": 5_000,
            },
        ),
        "post",
        "/courses",
        201,
    )
    assert course["package_price"] == 480_000 and course["currency"] == "CNY"
    courses = ok(principal.get("/courses", limit=1), "get", "/courses")
    assert courses["count"] == 3 and len(courses["items"]) == 1
    klass = ok(
        principal.post(
            "/classes",
            {
                "course_id": course["id"],
                "campus_id": school.campus.pk,
                "name": "钢琴周六班",
                "instructor_id": school.instructor.pk,
                "capacity": 8,
                "start_date": "2026-09-01",
                "end_date": "2026-10-31",
                "schedule": [{"weekday": 5, "start_time": "14:00", "end_time": "15:00"}],
            },
        ),
        "post",
        "/classes",
        201,
    )
    assert klass["enrolled"] == 0 and klass["schedule"][0]["weekday"] == 5
    ok(principal.get("/classes"), "get", "/classes")
    # Staff generate the sessions from the schedule; 26 September is in the Mid-Autumn holiday.
    generate_sessions(actor=school.principal, class_group=ClassGroup.objects.get(pk=klass["id"]))
    sessions = ok(
        principal.get(f"/classes/{klass['id']}/sessions", **{"from": "2026-09-01", "to": "2026-09-30"}),
        "get",
        "/classes/{class_id}/sessions",
    )
    assert [s["date"] for s in sessions["items"]] == ["2026-09-05", "2026-09-12", "2026-09-19"]
    assert {s["status"] for s in sessions["items"]} == {"scheduled"} and sessions["count"] == 3

    guardian = ok(
        cashier.post("/guardians", {"name": "李爸爸", "phone": "139 0000 0002"}), "post", "/guardians", 201
    )
    student = ok(
        cashier.post(
            "/students",
            {
                "campus_id": school.campus.pk,
                "name": "李四",
                "phone": "13900000003",
                "guardians": [{"guardian_id": guardian["id"], "relation": "father"}],
            },
        ),
        "post",
        "/students",
        201,
    )
    assert student["guardians"][0]["id"] == guardian["id"] and student["name_pinyin"] == "lisi"
    found = ok(cashier.get("/students", search="lisi"), "get", "/students")
    assert [s["id"] for s in found["items"]] == [student["id"]] and found["count"] == 1
    ok(cashier.get(f"/students/{student['id']}"), "get", "/students/{student_id}")
    patched = ok(
        cashier.patch(f"/students/{student['id']}", {"school": "实验小学", "birth_date": "2016-05-01"}),
        "patch",
        "/students/{student_id}",
    )
    assert (patched["school"], patched["birth_date"]) == ("实验小学", "2016-05-01")
    g = ok(cashier.get(f"/guardians/{guardian['id']}"), "get", "/guardians/{guardian_id}")
    assert [s["id"] for s in g["students"]] == [student["id"]]
    g = ok(
        cashier.patch(f"/guardians/{guardian['id']}", {"email": "li@example.com"}),
        "patch",
        "/guardians/{guardian_id}",
    )
    assert g["email"] == "li@example.com"

    created = ok(
        cashier.post(
            "/enrolments",
            {
                "student_id": student["id"],
                "class_id": klass["id"],
                "discount": {"kind": "fixed", "value": 30_000},
            },
        ),
        "post",
        "/enrolments",
        201,
    )
    enrolment, order = created["enrolment"], created["order"]
    assert order["total"] == 480_000 - 30_000 + 5_000 and order["status"] == "open"
    assert enrolment["order_id"] == order["id"]
    fetched = ok(cashier.get(f"/enrolments/{enrolment['id']}"), "get", "/enrolments/{enrolment_id}")
    assert (fetched["purchased_hours"], fetched["gift_hours"], fetched["remaining_hours"]) == (
        "24.00",
        "2.00",
        "26.00",
    )
    assert (fetched["tuition_amount"], fetched["deferred_amount"], fetched["recognised_amount"]) == (
        450_000,
        450_000,
        0,
    )

    extra = ok(
        cashier.post(
            "/orders",
            {
                "student_id": student["id"],
                "lines": [{"kind": "other", "description": "Exam fee", "unit_price": 20_000}],
                "due_date": "2026-12-31",
            },
        ),
        "post",
        "/orders",
        201,
    )
    assert extra["lines"][0]["net_amount"] == 20_000
    listed = ok(cashier.get("/orders", student_id=student["id"], status="open"), "get", "/orders")
    assert {o["id"] for o in listed["items"]} == {order["id"], extra["id"]}
    ok(cashier.get(f"/orders/{order['id']}"), "get", "/orders/{order_id}")

    payment = ok(
        cashier.post(
            "/payments",
            {
                "student_id": student["id"],
                "amount": 500_000,
                "channel": "wechat_pay",
                "reference": "wx-1",
                "allocations": [{"order_id": order["id"], "amount": 455_000}],
            },
            key="pay-1",
        ),
        "post",
        "/payments",
        201,
    )
    assert (payment["allocated"], payment["to_credit"]) == (455_000, 45_000)
    assert payment["receipt_number"].startswith("R")
    ok(cashier.get(f"/payments/{payment['id']}"), "get", "/payments/{payment_id}")
    ok(cashier.get("/payments", student_id=student["id"]), "get", "/payments")

    applied = ok(
        cashier.post(f"/students/{student['id']}/apply-credit", {"order_id": extra["id"], "amount": 5_000}),
        "post",
        "/students/{student_id}/apply-credit",
        201,
    )
    assert applied["amount"] == 5_000
    from_wallet = ok(
        cashier.post(
            "/payments",
            {
                "student_id": student["id"],
                "amount": 15_000,
                "channel": "credit",
                "allocations": [{"order_id": extra["id"], "amount": 15_000}],
            },
        ),
        "post",
        "/payments",
        201,
    )
    assert from_wallet["id"] is None and from_wallet["allocations"][0]["amount"] == 15_000

    account = ok(cashier.get(f"/students/{student['id']}/account"), "get", "/students/{student_id}/account")
    selector = student_account(student=school.org.student_set.get(pk=student["id"]))
    assert (account["balance_due"], account["overdue"], account["credit"]) == (
        selector.balance_due,
        selector.overdue,
        selector.credit,
    )
    assert (account["balance_due"], account["credit"]) == (0, 25_000)
    assert account["enrolments"] == [
        {"id": enrolment["id"], "class_id": klass["id"], "status": "active", "remaining_hours": "26.00"}
    ]
    statement = ok(
        cashier.get(f"/students/{student['id']}/statement"), "get", "/students/{student_id}/statement"
    )
    opening, lines = student_statement(student_id=student["id"])
    assert statement["opening_balance"] == opening == 0
    assert [line["running_balance"] for line in statement["lines"]] == [
        line.running_balance for line in lines
    ]
    assert statement["closing_balance"] == -25_000

    mistake = ok(
        cashier.post(
            "/payments",
            {"student_id": student["id"], "amount": 7_000, "channel": "cash", "allocations": []},
            key="pay-2",
        ),
        "post",
        "/payments",
        201,
    )
    assert (mistake["allocated"], mistake["to_credit"]) == (0, 7_000)
    reversed_ = ok(
        principal.post(f"/payments/{mistake['id']}/reverse", {"reason": "wrong student"}, key="rev-1"),
        "post",
        "/payments/{payment_id}/reverse",
    )
    assert reversed_["status"] == "reversed" and reversed_["reversal_reason"] == "wrong student"
    assert_error(
        principal.post(f"/payments/{mistake['id']}/reverse", {"reason": "again"}),
        409,
        "payment_already_reversed",
    )
    # The first payment's credit was spent: reversing it is refused until that use is undone.
    assert_error(
        principal.post(f"/payments/{payment['id']}/reverse", {"reason": "x"}), 409, "credit_already_used"
    )
    assert_error(cashier.post(f"/orders/{order['id']}/cancel", {}), 409, "order_has_payments")
    unpaid = ok(
        cashier.post(
            "/orders",
            {
                "student_id": student["id"],
                "lines": [{"kind": "materials", "description": "Book", "unit_price": 3_000}],
            },
        ),
        "post",
        "/orders",
        201,
    )
    cancelled = ok(
        cashier.post(f"/orders/{unpaid['id']}/cancel", {"reason": "changed mind"}),
        "post",
        "/orders/{order_id}/cancel",
    )
    assert cancelled["status"] == "cancelled" and cancelled["balance"] == 0

    tb = ok(principal.get("/ledger/trial-balance"), "get", "/ledger/trial-balance")
    assert tb["total_debits"] == tb["total_credits"]
    expected = trial_balance(organization_id=school.org.pk)
    assert [(a["code"], a["debits"], a["credits"], a["balance"]) for a in tb["accounts"]] == [
        (r.code, r.debits, r.credits, r.balance) for r in expected.rows
    ]
    out = io.StringIO()
    call_command("trial_balance", organization=school.org.slug, stdout=out)
    assert f"{tb['total_debits']:>14} {tb['total_credits']:>14}" in out.getvalue()
    verify = ok(principal.get("/ledger/verify"), "get", "/ledger/verify")
    assert verify["ok"] is True and verify["problems"] == []
    assert verify["entries_checked"] == verify_ledger(organization_id=school.org.pk).entries_checked


def test_trial_balance_as_of_a_date(school):
    principal = ApiClient(school.principal)
    body = ok(principal.get("/ledger/trial-balance", as_of="2000-01-01"), "get", "/ledger/trial-balance")
    assert body["total_debits"] == body["total_credits"] == 0


BAD_PAYMENTS = [
    ({"amount": 100, "channel": "cash"}, "missing student_id"),
    ({"student_id": "x", "amount": 100, "channel": "cash"}, "student_id of the wrong type"),
    ({"amount": "100", "channel": "cash"}, "amount as a string"),
    ({"amount": 100.5, "channel": "cash"}, "amount as a float"),
    ({"amount": -100, "channel": "cash"}, "negative amount"),
    ({"amount": 0, "channel": "cash"}, "zero amount"),
    ({"amount": 100, "channel": "bitcoin"}, "unknown channel"),
    ({"amount": 100, "channel": "cash", "received_at": "2026-01-01T10:00:00"}, "time without offset"),
    ({"amount": 100, "channel": "cash", "reference": "a\x00b"}, "NUL in text"),
]


@pytest.mark.parametrize(("body", "why"), BAD_PAYMENTS, ids=[why for _b, why in BAD_PAYMENTS])
def test_bad_payment_input_is_refused_with_the_envelope(school, body, why):
    student = school.student()
    body = (
        {"student_id": student.pk, **body}
        if "student_id" not in body and why != "missing student_id"
        else body
    )
    response = ApiClient(school.cashier).post("/payments", body)
    error = assert_error(response, 422, "invalid_request")
    assert error["details"]["errors"], why
    assert_conforms(response, "post", "/payments")
    assert not Payment.objects.exists()


def test_malformed_json_is_an_enveloped_400(school):
    response = ApiClient(school.cashier).post("/payments", raw=b"{not json")
    assert_error(response, 400, "invalid_request")


def test_unknown_ids_are_404(school):
    api = ApiClient(school.cashier)
    student = school.student()
    for path in (
        "/students/999999",
        "/guardians/999999",
        "/orders/999999",
        "/payments/999999",
        "/enrolments/999999",
        "/students/999999/account",
        "/students/999999/statement",
        "/classes/999999/sessions",
    ):
        assert_error(api.get(path), 404, "not_found")
    assert_error(api.post("/payments", {"student_id": 999999, "amount": 100, "channel": "cash"}), 404)
    assert_error(
        api.post(
            "/payments",
            {
                "student_id": student.pk,
                "amount": 100,
                "channel": "cash",
                "allocations": [{"order_id": 999999, "amount": 100}],
            },
        ),
        404,
    )
    assert_error(api.post("/enrolments", {"student_id": student.pk, "class_id": 999999}), 404)
    assert not Payment.objects.exists()


def test_over_allocation_is_refused_and_writes_nothing(school):
    api = ApiClient(school.cashier)
    student = school.student()
    enrolled = api.post("/enrolments", {"student_id": student.pk, "class_id": school.klass.pk})
    order_id = json.loads(enrolled.content)["order"]["id"]
    too_much = api.post(
        "/payments",
        {
            "student_id": student.pk,
            "amount": 700_000,
            "channel": "cash",
            "allocations": [{"order_id": order_id, "amount": 600_000}],
        },
    )
    assert_error(too_much, 400, "allocation_exceeds_balance")
    more_than_paid = api.post(
        "/payments",
        {
            "student_id": student.pk,
            "amount": 100,
            "channel": "cash",
            "allocations": [{"order_id": order_id, "amount": 200}],
        },
    )
    assert_error(more_than_paid, 400, "allocation_exceeds_payment")
    wallet = api.post(f"/students/{student.pk}/apply-credit", {"order_id": order_id, "amount": 100})
    assert_error(wallet, 400, "allocation_exceeds_payment")
    assert not Payment.objects.exists()
    assert Order.objects.get(pk=order_id).paid == 0
    assert verify_ledger().ok


def test_authentication_and_roles(school):
    student = school.student()
    client = ApiClient(school.instructor)
    anonymous = client.client.get(f"/api/v1/students/{student.pk}")
    assert_error(anonymous, 401, "not_authenticated")
    wrong = client.client.get(f"/api/v1/students/{student.pk}", headers={"Authorization": "Bearer fd_nope"})
    assert_error(wrong, 401, "not_authenticated")
    assert client.get(f"/students/{student.pk}").status_code == 200
    # An instructor's token may read students but, like the instructor, never takes money.
    refused = client.post("/payments", {"student_id": student.pk, "amount": 100, "channel": "cash"})
    assert_error(refused, 403, "permission_denied")
    assert_error(client.get("/ledger/verify"), 403, "permission_denied")
    assert not Payment.objects.exists()


def test_campus_limits_follow_the_token(school):
    far = school.student(name="王五", campus=school.campus2)
    school.cashier.campuses.set([school.campus])
    api = ApiClient(school.cashier)
    assert_error(api.get(f"/students/{far.pk}"), 404)
    assert_error(api.post("/payments", {"student_id": far.pk, "amount": 100, "channel": "cash"}), 404)
    assert api.get("/students").json()["count"] == 0


def test_pagination_counts(school):
    for i in range(5):
        school.student(name=f"学生{i}")
    api = ApiClient(school.cashier)
    body = ok(api.get("/students", limit=2, offset=4), "get", "/students")
    assert (body["count"], len(body["items"])) == (5, 1)
    assert_error(api.get("/students", limit=0), 422, "invalid_request")


def test_openapi_and_docs_are_published(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/payments", "/api/v1/students/{student_id}/account", "/api/v1/ledger/verify"):
        assert path in paths
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/api/swagger-ui/swagger-ui-bundle.js" in html and "cdn" not in html.lower()


def test_payment_received_in_the_future_is_refused(school):
    student = school.student()
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)).isoformat()
    response = ApiClient(school.cashier).post(
        "/payments", {"student_id": student.pk, "amount": 100, "channel": "cash", "received_at": later}
    )
    assert_error(response, 400, "received_in_future")


# --- attendance ---------------------------------------------------------------------------------


def mark_body(session, student, status="present", **extra):
    return {"session_id": session.pk, "student_id": student.pk, "status": status, **extra}


def ledger_state() -> tuple:
    return (
        JournalEntry.objects.count(),
        Attendance.objects.count(),
        MakeupCredit.objects.count(),
        Order.objects.count(),
        list(Enrolment.objects.order_by("pk").values_list("consumed_hours", "recognised_amount")),
    )


def test_attendance_flow_uses_hours_by_the_reasons_rule(school, roll):
    api = ApiClient(school.instructor)
    student, enrolment = roll.enrol()
    first, second, third = roll.session(), roll.session(), roll.session()

    present = ok(api.post("/attendance", mark_body(first, student), key="att-1"), "post", "/attendance", 201)
    assert present["status"] == "present" and present["reason_code"] is None
    assert (present["hours"], present["paid_hours"], present["gift_hours"]) == ("1.00", "1.00", "0.00")
    # 576,000 fen for 48 paid hours: one hour earns 12,000.
    assert present["recognised_amount"] == 12_000 and present["currency"] == "CNY"
    assert present["remaining_hours"] == "51.00"  # 48 paid + 4 gift - 1
    assert present["enrolment_id"] == enrolment.pk and present["set_by_role"] == "staff"
    assert present["makeup_credit"] is None and present["replaces_id"] is None
    assert JournalEntry.objects.get(pk=present["entry_id"]).code == EntryCode.CONSUMPTION
    datetime.datetime.fromisoformat(present["recorded_at"])

    # The same mark again is not a new mark: 200, the same body, nothing posted.
    entries = JournalEntry.objects.count()
    same = ok(api.post("/attendance", mark_body(first, student)), "post", "/attendance", 200)
    assert same == present and JournalEntry.objects.count() == entries

    # Personal leave deducts and grants a make-up credit; the correction reverses the first entry.
    leave = ok(
        api.post("/attendance", mark_body(first, student, "leave", reason_code="personal")),
        "post",
        "/attendance",
        201,
    )
    assert leave["replaces_id"] == present["id"] and leave["reason_code"] == "personal"
    assert leave["hours"] == "1.00" and leave["remaining_hours"] == "51.00"
    assert leave["makeup_credit"] == {
        "id": leave["makeup_credit"]["id"],
        "expires_on": (first.date + datetime.timedelta(days=30)).isoformat(),
        "used": False,
        "revoked": False,
    }
    assert JournalEntry.objects.filter(code=EntryCode.REVERSAL).count() == 1

    # The credit pays for attending another session: no hours, nothing recognised.
    makeup = ok(
        api.post("/attendance", mark_body(second, student, use_makeup_credit=True)),
        "post",
        "/attendance",
        201,
    )
    assert (makeup["hours"], makeup["recognised_amount"], makeup["entry_id"]) == ("0.00", 0, None)
    assert makeup["makeup_credit_used"] is True and makeup["remaining_hours"] == "51.00"
    assert MakeupCredit.objects.get(pk=leave["makeup_credit"]["id"]).used_by_id == makeup["id"]

    # Sick leave does not deduct; absent without a reason does.
    sick = ok(
        api.post("/attendance", mark_body(third, student, "leave", reason_code="sick")),
        "post",
        "/attendance",
        201,
    )
    assert (sick["hours"], sick["remaining_hours"]) == ("0.00", "51.00")
    absent = ok(api.post("/attendance", mark_body(third, student, "absent")), "post", "/attendance", 201)
    assert (absent["hours"], absent["remaining_hours"], absent["replaces_id"]) == (
        "1.00",
        "50.00",
        sick["id"],
    )

    # GET /enrolments/{id} reports what the staff pages read from hours_position.
    fetched = ok(api.get(f"/enrolments/{enrolment.pk}"), "get", "/enrolments/{enrolment_id}")
    position = hours_position(Enrolment.objects.get(pk=enrolment.pk))
    assert (fetched["consumed_hours"], fetched["remaining_hours"]) == ("2.00", "50.00")
    assert (
        fetched["purchased_hours"],
        fetched["gift_hours"],
        fetched["consumed_hours"],
        fetched["remaining_hours"],
    ) == tuple(
        f"{h:.2f}"
        for h in (
            position.purchased_hours,
            position.gift_hours,
            position.consumed_hours,
            position.remaining_hours,
        )
    )
    assert (
        (fetched["deferred_amount"], fetched["recognised_amount"])
        == (
            position.deferred_amount,
            position.recognised_amount,
        )
        == (576_000 - 24_000, 24_000)
    )
    account = ok(api.get(f"/students/{student.pk}/account"), "get", "/students/{student_id}/account")
    assert account["enrolments"][0]["remaining_hours"] == "50.00"
    assert verify_ledger().ok


def test_absence_reasons_are_the_schools_code_table(school, roll):
    api = ApiClient(school.instructor)
    body = ok(api.get("/absence-reasons"), "get", "/absence-reasons")
    assert body["count"] == 4
    sick = next(r for r in body["items"] if r["code"] == "sick")
    assert sick == {
        "id": roll.reasons["sick"].pk,
        "code": "sick",
        "name": "病假",
        "name_en": "Sick leave",
        "usable_by_students": False,
        "rule": "no_deduct",
        "makeup_valid_days": 0,
        "is_active": True,
    }
    assert [r["code"] for r in body["items"]] == ["no_show", "personal", "school_event", "sick"]
    personal = next(r for r in body["items"] if r["code"] == "personal")
    assert (personal["rule"], personal["makeup_valid_days"]) == ("deduct_makeup", 30)
    paged = ok(api.get("/absence-reasons", limit=1, offset=1), "get", "/absence-reasons")
    assert (paged["count"], [r["code"] for r in paged["items"]]) == (4, ["personal"])
    students = ok(api.get("/absence-reasons", for_students="true"), "get", "/absence-reasons")
    assert [r["code"] for r in students["items"]] == ["personal", "school_event"]

    save_absence_reason(
        actor=school.principal,
        code="sick",
        name="病假",
        name_en="Sick leave",
        rule="no_deduct",
        is_active=False,
    )
    active = ok(api.get("/absence-reasons"), "get", "/absence-reasons")
    assert "sick" not in [r["code"] for r in active["items"]] and active["count"] == 3
    everything = ok(api.get("/absence-reasons", include_inactive="true"), "get", "/absence-reasons")
    assert [(r["code"], r["is_active"]) for r in everything["items"] if r["code"] == "sick"] == [
        ("sick", False)
    ]
    assert_error(api.get("/absence-reasons", limit=0), 422, "invalid_request")
    assert_error(api.get("/absence-reasons", include_inactive="maybe"), 422, "invalid_request")


BAD_MARKS = [
    ({"student_id": 1, "status": "present"}, "missing session_id"),
    ({"session_id": 1, "status": "present"}, "missing student_id"),
    ({"session_id": 1, "student_id": 1}, "missing status"),
    ({"session_id": "x", "student_id": 1, "status": "present"}, "session_id of the wrong type"),
    ({"session_id": "1", "student_id": 1, "status": "present"}, "session_id as a string"),
    ({"session_id": 1, "student_id": 1.5, "status": "present"}, "student_id as a float"),
    ({"session_id": 0, "student_id": 1, "status": "present"}, "id zero"),
    ({"session_id": 1, "student_id": 1, "status": "late"}, "unknown status"),
    ({"session_id": 1, "student_id": 1, "status": "PRESENT"}, "status in capitals"),
    ({"session_id": 1, "student_id": 1, "status": "absent", "reason_code": ""}, "empty reason code"),
    (
        {"session_id": 1, "student_id": 1, "status": "absent", "reason_code": "a b"},
        "reason code with a space",
    ),
    ({"session_id": 1, "student_id": 1, "status": "absent", "reason_code": 7}, "reason code as a number"),
    ({"session_id": 1, "student_id": 1, "status": "present", "use_makeup_credit": []}, "flag as a list"),
]


@pytest.mark.parametrize(("body", "why"), BAD_MARKS, ids=[why for _b, why in BAD_MARKS])
def test_bad_attendance_input_is_refused_with_the_envelope(school, roll, body, why):
    student, _enrolment = roll.enrol()
    session = roll.session()
    real = {"session_id": session.pk, "student_id": student.pk}
    body = {**body, **{k: real[k] for k in real if body.get(k) == 1}}
    before = ledger_state()
    response = ApiClient(school.cashier).post("/attendance", body)
    error = assert_error(response, 422, "invalid_request")
    assert error["details"]["errors"], why
    assert_conforms(response, "post", "/attendance")
    assert ledger_state() == before


def test_attendance_refusals_are_enveloped_4xx_and_write_nothing(school, roll):
    cashier, instructor = ApiClient(school.cashier), ApiClient(school.instructor)
    student, _enrolment = roll.enrol()
    stranger = school.student(name="未报名")
    session = roll.session()
    future = roll.session(date=datetime.date.today() + datetime.timedelta(days=3))
    cancelled = roll.session()
    cancel_session(actor=school.principal, session=cancelled)
    save_absence_reason(
        actor=school.principal, code="old", name="旧", name_en="Old", rule="deduct", is_active=False
    )
    before = ledger_state()
    refusals = [
        (cashier, mark_body(session, student) | {"session_id": 999_999}, 404, "not_found"),
        (cashier, mark_body(session, student) | {"student_id": 999_999}, 404, "not_found"),
        (cashier, mark_body(session, stranger), 400, "not_enrolled"),
        (cashier, mark_body(session, student, "absent", reason_code="nope"), 400, "reason_unknown"),
        (cashier, mark_body(session, student, "absent", reason_code="old"), 400, "reason_unknown"),
        (cashier, mark_body(session, student, reason_code="sick"), 400, "reason_not_for_present"),
        (
            cashier,
            mark_body(session, student, "absent", use_makeup_credit=True),
            400,
            "makeup_needs_presence",
        ),
        (cashier, mark_body(session, student, use_makeup_credit=True), 409, "no_makeup_credit"),
        (cashier, mark_body(future, student), 409, "session_not_started"),
        (cashier, mark_body(cancelled, student), 409, "session_cancelled"),
        # Finance reads money but takes no roll call; instructors may not bill hours beyond the package.
        (ApiClient(school.finance), mark_body(session, student), 403, "permission_denied"),
        (instructor, mark_body(session, student, allow_overdraw=True), 403, "permission_denied"),
    ]
    for index, (api, body, status, code) in enumerate(refusals):
        response = api.post("/attendance", body, key=f"refused-{index}")
        assert_error(response, status, code)
        assert_conforms(response, "post", "/attendance")
        assert ledger_state() == before, code


def test_hours_below_zero_need_the_overdraw_permission_and_bill_arrears(school, roll):
    cashier, instructor = ApiClient(school.cashier), ApiClient(school.instructor)
    student, enrolment = roll.enrol(klass=school.lesson_class, hours=Decimal(1))
    first, second = roll.session(klass=school.lesson_class), roll.session(klass=school.lesson_class)
    used = ok(instructor.post("/attendance", mark_body(first, student)), "post", "/attendance", 201)
    assert (used["recognised_amount"], used["remaining_hours"]) == (15_000, "0.00")
    before = ledger_state()
    response = instructor.post("/attendance", mark_body(second, student))
    assert_error(response, 409, "hours_exhausted")
    assert_conforms(response, "post", "/attendance")
    assert_error(cashier.post("/attendance", mark_body(second, student)), 409, "hours_exhausted")
    assert ledger_state() == before
    orders = Order.objects.filter(enrolment_id=enrolment.pk).count()
    billed = ok(
        cashier.post("/attendance", mark_body(second, student, allow_overdraw=True)),
        "post",
        "/attendance",
        201,
    )
    assert (billed["hours"], billed["recognised_amount"], billed["remaining_hours"]) == (
        "1.00",
        15_000,
        "0.00",
    )
    arrears = Order.objects.filter(enrolment_id=enrolment.pk).order_by("-pk").first()
    assert Order.objects.filter(enrolment_id=enrolment.pk).count() == orders + 1 and arrears.total == 15_000
    assert (billed["arrears_order_id"], billed["arrears_order_number"]) == (arrears.pk, arrears.number)
    assert used["arrears_order_id"] is None
    assert verify_ledger().ok


def test_attendance_limits_follow_the_token(school, roll):
    """Another campus's session or student, and another instructor's session, are not found."""
    student, _enrolment = roll.enrol()
    far_class = school.make_class(school.package_course, name="分校班", campus=school.campus2)
    far_student, _ = roll.enrol(name="分校学生", klass=far_class, campus=school.campus2)
    far_session = roll.session(klass=far_class)
    school.cashier.campuses.set([school.campus])
    api = ApiClient(school.cashier)
    before = ledger_state()
    assert_error(api.post("/attendance", mark_body(far_session, far_student)), 404, "not_found")
    assert_error(api.post("/attendance", mark_body(far_session, student)), 404, "not_found")
    assert_error(api.post("/attendance", mark_body(roll.session(), far_student)), 404, "not_found")
    other_instructor = User.objects.create_user(
        "school-instructor-2", password="pw-123456", organization=school.org, role=Role.INSTRUCTOR
    )
    response = ApiClient(other_instructor).post("/attendance", mark_body(roll.session(), student))
    assert_error(response, 404, "not_found")
    assert ledger_state() == before
