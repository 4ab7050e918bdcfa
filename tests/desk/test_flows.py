"""Happy paths through the desk."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from feedesk.billing.models import OrderLine, OrderStatus
from feedesk.billing.services import LineDraft, create_order
from feedesk.core.money import format_money
from feedesk.desk.numerals import rmb_upper
from feedesk.enrolment.services import enrol_student
from feedesk.payments.models import Payment
from feedesk.payments.selectors import student_account
from feedesk.payments.services import record_payment
from feedesk.people.models import Student
from tests.desk.conftest import client_for


def test_search_by_pinyin_initials(school, login):
    school.student(name="张三")
    school.student(name="李四")
    response = login(school.cashier).get(reverse("desk:students"), {"q": "zs"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "张三" in body and "李四" not in body
    assert "<html" not in body  # htmx gets only the results


def test_new_student_links_sibling_to_existing_guardian(school, login):
    first = school.student(name="张三")
    client = login(school.cashier)
    data = {
        "campus": school.campus.pk,
        "name": "张小妹",
        "guardian1_name": "张妈妈",
        "guardian1_phone": "13800000001",
    }
    response = client.post(reverse("desk:student_new"), data)
    assert response.status_code == 302
    sister = Student.objects.get(name="张小妹")
    assert list(sister.guardians.all()) == [school.guardian]
    page = client.get(reverse("desk:student", args=[sister.pk])).content.decode()
    assert reverse("desk:student", args=[first.pk]) in page


def test_student_page_figures_equal_the_account(school, login):
    student = school.student()
    _e, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    record_payment(actor=school.cashier, student=student, amount=600_000, channel="cash")
    response = login(school.cashier).get(reverse("desk:student", args=[student.pk]))
    account = student_account(student=student)
    shown = response.context["account"]
    assert (shown.balance_due, shown.overdue, shown.credit) == (
        account.balance_due,
        account.overdue,
        account.credit,
    )
    body = response.content.decode()
    assert format_money(account.credit) in body and account.credit == 12_000
    assert f"#{order.number}" in body
    statement = response.context["statement"]
    assert statement[-1].running_balance == account.balance_due - account.credit
    assert "52" in body  # 48 purchased + 4 gift hours remaining


def test_collect_across_two_orders_with_excess_to_credit(school, login):
    student = school.student()
    _e, first = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    second = create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="Exam fee", unit_price=30_000)],
    )
    client = login(school.cashier)
    url = reverse("desk:collect", args=[student.pk])
    form = client.get(url).context["form"]
    key = form.initial["idempotency_key"]
    # The htmx preview proposes oldest due first and shows what goes to credit.
    preview = client.post(
        reverse("desk:allocation_preview", args=[student.pk]) + "?propose=1",
        {"amount": "6200", "channel": "cash", "idempotency_key": key},
    )
    rows = preview.context["alloc"]["rows"]
    assert [r["value"] for r in rows] == ["5880.00", "300.00"]
    assert preview.context["alloc"]["to_credit"] == 2_000
    data = {
        "amount": "6200",
        "channel": "wechat_pay",
        "reference": "WX123",
        "idempotency_key": key,
        f"alloc_{first.pk}": "5880",
        f"alloc_{second.pk}": "300",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    # A double submit of the same form pays nothing twice and lands on the same receipt.
    again = client.post(url, data)
    assert again["Location"] == response["Location"]
    assert Payment.objects.count() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (OrderStatus.PAID, OrderStatus.PAID)
    assert student_account(student=student).credit == 2_000
    receipt = client.get(response["Location"]).content.decode()
    assert "人民币陆仟贰佰元整" in receipt and "¥20.00" in receipt


def test_receipt_shows_capitals_and_reversed_stamp(school, login):
    student = school.student()
    enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    payment = record_payment(actor=school.cashier, student=student, amount=576_000, channel="cash")
    client = login(school.finance)
    url = reverse("desk:receipt", args=[payment.pk])
    body = client.get(url).content.decode()
    assert "人民币伍仟柒佰陆拾元整" in body and payment.receipt_number in body and "REVERSED" not in body
    client.post(reverse("desk:reverse_payment", args=[payment.pk]), {"reason": "wrong child"})
    body = client.get(url).content.decode()
    assert "REVERSED" in body and "wrong child" in body


@pytest.mark.parametrize(
    "fen,words",
    [
        (576_000, "人民币伍仟柒佰陆拾元整"),
        (12_850, "人民币壹佰贰拾捌元伍角整"),
        (100_500, "人民币壹仟零伍元整"),
        (1_000_500, "人民币壹万零伍元整"),
        (105, "人民币壹元零伍分"),
        (123_456_789, "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
        (10_000_000_000, "人民币壹亿元整"),
        (0, "人民币零元整"),
    ],
)
def test_rmb_capitals(fen, words):
    assert rmb_upper(fen) == words


def test_language_switcher_persists(school):
    client = client_for(school.cashier, language="zh-hans")
    assert "今日" in client.get(reverse("desk:dashboard")).content.decode()
    response = client.post(reverse("desk:language"), {"language": "en", "next": reverse("desk:students")})
    assert response.status_code == 302 and response["Location"] == reverse("desk:students")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    school.cashier.refresh_from_db()
    assert school.cashier.language == "en"
    assert client.session["feedesk_language"] == "en"
    assert "Today" in client.get(reverse("desk:dashboard")).content.decode()
    # A fresh browser that prefers Chinese gets English after signing in: the profile wins.
    fresh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    login = fresh.post(reverse("desk:login"), {"username": school.cashier.username, "password": "pw-123456"})
    assert login.status_code == 302
    assert "Today" in fresh.get(reverse("desk:dashboard")).content.decode()


def test_language_switcher_refuses_foreign_redirects(school):
    client = client_for(school.cashier)
    response = client.post(reverse("desk:language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == reverse("desk:dashboard")


def test_dashboard_shows_takings_and_open_balances(school, login):
    student = school.student()
    enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    record_payment(actor=school.cashier, student=student, amount=100_000, channel="cash")
    response = login(school.cashier).get(reverse("desk:dashboard"))
    assert response.context["takings_total"] == 100_000
    assert response.context["open_total"] == 488_000
    assert "¥1,000.00" in response.content.decode()


def test_enrol_then_collect_now(school, login):
    student = school.student()
    client = login(school.cashier)
    data = {
        "class_group": school.lesson_class.pk,
        "hours": "10",
        "discount_kind": "percent",
        "discount_value": "10",
        "on_account": "on",
        "online_payable": "on",
    }
    response = client.post(reverse("desk:enrol", args=[student.pk]), data)
    assert response.status_code == 302
    page = client.get(response["Location"])
    order = page.context["order"]
    assert order.total == 135_000 and order.online_payable
    assert reverse("desk:collect", args=[student.pk]) in page.content.decode()


def test_apply_credit_and_cancel(school, login):
    student = school.student()
    order = create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="Exam fee", unit_price=30_000)],
    )
    record_payment(actor=school.cashier, student=student, amount=10_000, channel="cash", allocations=[])
    client = login(school.cashier)
    assert (
        client.post(reverse("desk:order_apply_credit", args=[order.pk]), {"amount": "100"}).status_code == 302
    )
    order.refresh_from_db()
    assert (order.paid, order.status) == (10_000, OrderStatus.PARTIALLY_PAID)
    other = create_order(
        actor=school.cashier,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="Trip", unit_price=5_000)],
    )
    assert (
        client.post(reverse("desk:order_cancel", args=[other.pk]), {"reason": "trip off"}).status_code == 302
    )
    other.refresh_from_db()
    assert other.status == OrderStatus.CANCELLED and other.cancel_reason == "trip off"
