"""Bad input through the desk forms: a clear, translated message, the typing kept, nothing saved."""

import pytest
from django.urls import reverse

from feedesk.billing.models import OrderLine
from feedesk.billing.services import LineDraft, cancel_order, create_order
from feedesk.enrolment.services import enrol_student
from feedesk.payments.services import record_payment
from tests.desk.conftest import client_for, written


@pytest.fixture
def two_orders(school):
    student = school.student()
    _e, first = enrol_student(actor=school.principal, student=student, class_group=school.klass)
    second = create_order(
        actor=school.principal,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="Exam fee", unit_price=30_000)],
    )
    return student, first, second


def pay(client, student, amount, allocations=None, key="k1"):
    data = {"amount": amount, "channel": "cash", "idempotency_key": key, "reference": "typed-ref"}
    for order, value in (allocations or {}).items():
        data[f"alloc_{order.pk}"] = value
    return client.post(reverse("desk:collect", args=[student.pk]), data)


@pytest.mark.parametrize(
    "amount,message",
    [
        ("-5", "The amount must be greater than zero."),
        ("0", "The amount must be greater than zero."),
        ("12.345", "An amount can have at most two decimal places."),
        ("abc", "“abc” is not an amount."),
        ("", "This field is required."),
    ],
)
def test_bad_payment_amounts(school, two_orders, amount, message):
    student, _first, _second = two_orders
    before = written()
    response = pay(client_for(school.cashier), student, amount)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'value="typed-ref"' in body
    assert written() == before


def test_bad_amount_message_in_chinese(school, two_orders):
    student, _first, _second = two_orders
    before = written()
    response = pay(client_for(school.cashier, language="zh-hans"), student, "-5")
    assert "金额必须大于零。" in response.content.decode()
    response = pay(client_for(school.cashier, language="zh-hans"), student, "1.001")
    assert "金额最多只能有两位小数。" in response.content.decode()
    assert written() == before


def test_allocation_larger_than_the_balance(school, two_orders):
    student, _first, second = two_orders
    before = written()
    response = pay(client_for(school.cashier), student, "1000", {second: "400"})
    assert response.status_code == 400
    body = response.content.decode()
    assert f"¥400.00 is more than the ¥300.00 still owed on order #{second.number}." in body
    assert 'value="400"' in body
    assert written() == before


def test_allocation_larger_than_the_balance_in_chinese(school, two_orders):
    student, _first, second = two_orders
    response = pay(client_for(school.cashier, language="zh-hans"), student, "1000", {second: "400"})
    assert f"¥400.00 超过了订单 #{second.number} 尚欠的 ¥300.00。" in response.content.decode()


def test_allocations_more_than_the_payment(school, two_orders):
    student, first, second = two_orders
    before = written()
    response = pay(client_for(school.cashier), student, "100", {first: "80", second: "50"})
    assert response.status_code == 400
    assert "The allocations add up to ¥130.00, more than the ¥100.00 available." in response.content.decode()
    assert written() == before


def test_payment_to_an_order_cancelled_after_the_form_was_shown(school, two_orders):
    student, _first, second = two_orders
    client = client_for(school.cashier)
    assert f"alloc_{second.pk}" in client.get(reverse("desk:collect", args=[student.pk])).content.decode()
    cancel_order(actor=school.principal, order=second, reason="duplicate")
    before = written()
    response = pay(client, student, "300", {second: "300"})
    assert response.status_code == 409
    assert f"Order #{second.number} is cancelled and cannot be paid." in response.content.decode()
    assert written() == before


def test_reversal_needs_a_reason(school, two_orders):
    student, _first, _second = two_orders
    payment = record_payment(actor=school.cashier, student=student, amount=10_000, channel="cash")
    before = written()
    url = reverse("desk:reverse_payment", args=[payment.pk])
    response = client_for(school.finance).post(url, {"reason": "  "})
    assert response.status_code == 400
    assert "Give a reason for the reversal." in response.content.decode()
    response = client_for(school.finance, language="zh-hans").post(url, {"reason": ""})
    assert "请填写冲正原因。" in response.content.decode()
    assert written() == before


def test_reversing_twice_is_refused(school, two_orders):
    student, _first, _second = two_orders
    payment = record_payment(actor=school.cashier, student=student, amount=10_000, channel="cash")
    url = reverse("desk:reverse_payment", args=[payment.pk])
    client = client_for(school.finance)
    assert client.post(url, {"reason": "typo"}).status_code == 302
    before = written()
    response = client.post(url, {"reason": "again"})
    assert response.status_code == 409
    assert f"Receipt {payment.receipt_number} is already reversed." in response.content.decode()
    assert written() == before


def test_enrolment_into_a_full_class(school):
    small = school.make_class(school.package_course, capacity=1, name="小班")
    enrol_student(actor=school.principal, student=school.student(name="王五"), class_group=small)
    student = school.student()
    before = written()
    data = {
        "class_group": small.pk,
        "include_materials": "on",
        "on_account": "on",
        "internal_notes": "typed note",
    }
    response = client_for(school.cashier).post(reverse("desk:enrol", args=[student.pk]), data)
    assert response.status_code == 409
    body = response.content.decode()
    assert "小班 is full (1 of 1 seats taken)." in body
    assert "typed note" in body
    response = client_for(school.cashier, language="zh-hans").post(
        reverse("desk:enrol", args=[student.pk]), data
    )
    assert "小班 已满（已占 1 / 1 个名额）。" in response.content.decode()
    assert written() == before
    # The principal may add a seat beyond capacity, explicitly.
    data["override_capacity"] = "on"
    assert (
        client_for(school.principal).post(reverse("desk:enrol", args=[student.pk]), data).status_code == 302
    )


def test_per_lesson_course_needs_hours(school):
    student = school.student()
    before = written()
    data = {"class_group": school.lesson_class.pk, "on_account": "on"}
    response = client_for(school.cashier).post(reverse("desk:enrol", args=[student.pk]), data)
    assert response.status_code == 400
    assert "Enter how many lessons to buy." in response.content.decode()
    assert written() == before


@pytest.mark.parametrize(
    "kind,value,message",
    [
        ("percent", "120", "A percentage discount must be between 0 and 100%."),
        ("percent", "12.345", "A percentage can have at most two decimal places."),
        ("fixed", "9999", "The discount is larger than what it applies to."),
        ("fixed", "-3", "The amount must be greater than zero."),
    ],
)
def test_bad_discounts_on_a_manual_order(school, kind, value, message):
    student = school.student()
    before = written()
    data = {
        "line0_description": "Workbook",
        "line0_kind": "materials",
        "line0_unit_price": "20",
        "line0_quantity": "2",
        "discount_kind": kind,
        "discount_value": value,
    }
    response = client_for(school.cashier).post(reverse("desk:manual_order", args=[student.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert written() == before


def test_manual_order_needs_a_line(school):
    student = school.student()
    before = written()
    response = client_for(school.cashier).post(reverse("desk:manual_order", args=[student.pk]), {})
    assert response.status_code == 400
    assert "An order needs at least one line." in response.content.decode()
    assert written() == before


def test_cancelling_a_paid_order_is_refused(school, two_orders):
    student, first, _second = two_orders
    record_payment(actor=school.cashier, student=student, amount=10_000, channel="cash")
    before = written()
    response = client_for(school.cashier).post(reverse("desk:order_cancel", args=[first.pk]), {"reason": "x"})
    assert response.status_code == 409
    assert "needs a refund, not a cancellation" in response.content.decode()
    assert written() == before


def test_applying_more_credit_than_there_is(school, two_orders):
    student, _first, second = two_orders
    record_payment(actor=school.cashier, student=student, amount=5_000, channel="cash", allocations=[])
    before = written()
    url = reverse("desk:order_apply_credit", args=[second.pk])
    response = client_for(school.cashier).post(url, {"amount": "80"})
    assert response.status_code == 400
    assert "The allocations add up to ¥80.00, more than the ¥50.00 available." in response.content.decode()
    assert written() == before
