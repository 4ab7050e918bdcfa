"""Every money view, for every role, another organization and a campus-limited user."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from feedesk.billing.models import OrderLine
from feedesk.billing.services import LineDraft, create_order
from feedesk.core.permissions import Role
from feedesk.enrolment.services import enrol_student
from feedesk.payments.services import AllocationRequest, record_payment
from tests.desk.conftest import client_for, written


@pytest.fixture
def books(school):
    """A student with an enrolment order partly paid, a manual order, credit and a payment."""
    student = school.student()
    _enrolment, enrolment_order = enrol_student(
        actor=school.principal, student=student, class_group=school.klass
    )
    manual = create_order(
        actor=school.principal,
        student=student,
        lines=[LineDraft(kind=OrderLine.Kind.OTHER, description="Exam fee", unit_price=30_000)],
    )
    payment = record_payment(
        actor=school.principal,
        student=student,
        amount=10_000,
        channel="cash",
        allocations=[AllocationRequest(order_id=enrolment_order.pk, amount=10_000)],
    )
    record_payment(
        actor=school.principal, student=student, amount=5_000, channel="wechat_pay", allocations=[]
    )
    return {"student": student, "order": manual, "enrolment_order": enrolment_order, "payment": payment}


def enrol_request(school, b):
    data = {
        "class_group": school.lesson_class.pk,
        "hours": "2",
        "include_materials": "on",
        "on_account": "on",
    }
    return reverse("desk:enrol", args=[b["student"].pk]), data


def collect_request(school, b):
    data = {
        "amount": "10",
        "channel": "cash",
        "idempotency_key": "desk-test-key",
        f"alloc_{b['order'].pk}": "10",
    }
    return reverse("desk:collect", args=[b["student"].pk]), data


def reverse_request(school, b):
    return reverse("desk:reverse_payment", args=[b["payment"].pk]), {"reason": "wrong student"}


def cancel_request(school, b):
    return reverse("desk:order_cancel", args=[b["order"].pk]), {"reason": "not needed"}


def manual_order_request(school, b):
    data = {
        "line0_description": "Workbook",
        "line0_kind": "materials",
        "line0_unit_price": "20",
        "line0_quantity": "1",
        "on_account": "on",
    }
    return reverse("desk:manual_order", args=[b["student"].pk]), data


def credit_request(school, b):
    return reverse("desk:order_apply_credit", args=[b["order"].pk]), {"amount": "10"}


def flags_request(school, b):
    return reverse("desk:order_flags", args=[b["order"].pk]), {
        "due_date": "2027-03-01",
        "online_payable": "on",
    }


MONEY_ACTIONS = {
    "enrol": (enrol_request, {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}),
    "collect": (collect_request, {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}),
    "reverse": (reverse_request, {Role.PRINCIPAL, Role.FINANCE}),
    "cancel": (cancel_request, {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}),
    "manual_order": (manual_order_request, {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}),
    "apply_credit": (credit_request, {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}),
    "flags": (flags_request, {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(MONEY_ACTIONS))
def test_money_views_by_role(school, books, action, role):
    build, allowed = MONEY_ACTIONS[action]
    url, data = build(school, books)
    before = written()
    response = client_for(school.users[role]).post(url, data)
    if role in allowed:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert written() != before
    else:
        assert response.status_code == 403
        assert "Your role does not allow this." in response.content.decode()
        assert written() == before


def test_cashier_takes_payments_but_cannot_reverse(school, books, login):
    client = login(school.cashier)
    url, data = collect_request(school, books)
    assert client.post(url, data).status_code == 302
    url, data = reverse_request(school, books)
    before = written()
    assert client.post(url, data).status_code == 403
    assert written() == before
    receipt = client.get(reverse("desk:receipt", args=[books["payment"].pk])).content.decode()
    assert reverse("desk:reverse_payment", args=[books["payment"].pk]) not in receipt


@pytest.mark.parametrize("action", list(MONEY_ACTIONS))
def test_another_organizations_ids_are_not_found(school, other_school, books, action):
    url, data = MONEY_ACTIONS[action][0](school, books)
    before = written()
    response = client_for(other_school.principal).post(url, data)
    assert response.status_code == 404
    assert written() == before


@pytest.mark.parametrize(
    "url_name,key", [("desk:student", "student"), ("desk:order", "order"), ("desk:receipt", "payment")]
)
def test_another_organizations_pages_are_not_found(school, other_school, books, url_name, key):
    response = client_for(other_school.principal).get(reverse(url_name, args=[books[key].pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("action", list(MONEY_ACTIONS))
def test_campus_limited_user_cannot_touch_another_campus(school, books, action):
    cashier = school.cashier
    cashier.campuses.set([school.campus2])
    url, data = MONEY_ACTIONS[action][0](school, books)
    before = written()
    assert client_for(cashier).post(url, data).status_code == 404
    assert written() == before


def test_campus_limited_user_cannot_see_another_campus(school, books):
    cashier = school.cashier
    cashier.campuses.set([school.campus2])
    here = school.student(name="李四", campus=school.campus2)
    client = client_for(cashier)
    assert client.get(reverse("desk:student", args=[books["student"].pk])).status_code == 404
    listing = client.get(reverse("desk:students"), {"q": ""}).content.decode()
    assert "李四" in listing and "张三" not in listing
    assert client.get(reverse("desk:student", args=[here.pk])).status_code == 200


def test_buttons_follow_the_role(school, books):
    page = reverse("desk:student", args=[books["student"].pk])
    collect = reverse("desk:collect", args=[books["student"].pk])
    reverse_url = reverse("desk:reverse_payment", args=[books["payment"].pk])
    principal = client_for(school.principal).get(page).content.decode()
    instructor = client_for(school.instructor).get(page).content.decode()
    assert collect in principal and reverse_url in principal
    assert collect not in instructor and reverse_url not in instructor


def test_override_capacity_checkbox_only_for_principal(school, books):
    url = reverse("desk:enrol", args=[books["student"].pk])
    assert 'name="override_capacity"' in client_for(school.principal).get(url).content.decode()
    assert 'name="override_capacity"' not in client_for(school.cashier).get(url).content.decode()
    assert 'name="override_capacity"' not in client_for(school.finance).get(url).content.decode()


@pytest.mark.parametrize("role,status", [(Role.FINANCE, 200), (Role.PRINCIPAL, 200), (Role.CASHIER, 403)])
def test_ledger_pages_need_view_ledger(school, books, role, status):
    client = client_for(school.users[role])
    assert client.get(reverse("desk:trial_balance")).status_code == status
    assert client.get(reverse("desk:verify")).status_code == status


def test_ledger_pages_show_figures(school, books):
    client = client_for(school.finance)
    trial = client.get(reverse("desk:trial_balance"))
    report = trial.context["report"]
    assert report.total_debits == report.total_credits > 0
    verify = client.get(reverse("desk:verify"))
    assert verify.context["report"].ok
    assert "The ledger is consistent." in verify.content.decode()


def test_anonymous_is_sent_to_login(db):
    response = Client().get(reverse("desk:dashboard"))
    assert response.status_code == 302 and reverse("desk:login") in response["Location"]


def test_flags_change_only_flags(school, books, login):
    url, data = flags_request(school, books)
    login(school.cashier).post(url, data)
    order = books["order"]
    order.refresh_from_db()
    assert order.online_payable and order.due_date == datetime.date(2027, 3, 1)
    assert order.total == 30_000
