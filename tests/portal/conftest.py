"""A family with two children owing money, another family, and the portal switched on."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from feedesk.enrolment.services import enrol_student
from feedesk.people.services import create_guardian
from feedesk.portal.services import invite_guardian, set_password_with_code, update_portal_settings

PASSWORD = "family-pass-2026"


class Family:
    def __init__(self, school, phone: str, names: tuple[str, ...], tag: str = "") -> None:
        self.school = school
        self.guardian = create_guardian(actor=school.principal, name=f"{names[0]}妈妈", phone=phone)
        self.children = [school.student(name=n, guardian=self.guardian) for n in names]
        self.orders = []
        self.enrolments = []
        for child in self.children:
            enrolment, order = enrol_student(
                actor=school.cashier,
                student=child,
                class_group=school.lesson_class,
                hours=Decimal(10),
                online_payable=True,
                external_notes=f"{tag}学费",
            )
            self.enrolments.append(enrolment)
            self.orders.append(order)
        invitation = invite_guardian(actor=school.cashier, guardian=self.guardian)
        self.user = set_password_with_code(phone=phone, code=invitation.code, new_password=PASSWORD)
        self.phone = phone

    def pay_at_desk(self, payer, orders, *, extra: int = 0, channel: str = "cash"):
        """One payment by `payer` settling `orders` in that order, with `extra` kept as credit."""
        from feedesk.payments.services import AllocationRequest, record_payment

        return record_payment(
            actor=self.school.cashier,
            student=payer,
            amount=sum(o.total for o in orders) + extra,
            channel=channel,
            allocations=[AllocationRequest(o.pk, o.total) for o in orders],
        )

    def client(self) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = client.post("/portal/login/", {"phone": self.phone, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        return client


@pytest.fixture(autouse=True)
def english():
    """Messages are compared in English; pages otherwise follow the school's default (zh-Hans)."""
    with translation.override("en"):
        yield


@pytest.fixture
def family(school) -> Family:
    update_portal_settings(actor=school.principal, carts_enabled=True, allow_partial=False)
    return Family(school, "13900000001", ("王小明", "王小红"))


@pytest.fixture
def stranger(school) -> Family:
    """Another family of the same school: the target of every id-guessing test."""
    return Family(school, "13900000002", ("李雷",), tag="李")
