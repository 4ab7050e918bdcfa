"""Shared fixtures: a small school with one of each role, built through the services."""

import datetime
import os
import socket
from decimal import Decimal

import pytest
from django.utils import translation
from routedclient import RoutedClient

from feedesk.catalog.services import create_class, create_course, create_subject
from feedesk.core.permissions import Role
from feedesk.organizations.services import create_campus, create_organization
from feedesk.people.services import create_guardian, create_student
from feedesk.users.models import User


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']}"


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


class School:
    """An organization with two campuses, staff of every role, a catalog and students."""

    def __init__(self, slug: str = "school") -> None:
        self.org = create_organization(name=f"{slug} 培训学校", slug=slug)
        self.campus = create_campus(organization=self.org, name="总部校区", code="hq")
        self.campus2 = create_campus(organization=self.org, name="分校区", code="branch")
        self.users: dict[str, User] = {}
        for role in Role:
            self.users[role] = User.objects.create_user(
                f"{slug}-{role.value}", password="pw-123456", organization=self.org, role=role
            )
        self.principal = self.users[Role.PRINCIPAL]
        self.finance = self.users[Role.FINANCE]
        self.cashier = self.users[Role.CASHIER]
        self.adviser = self.users[Role.ADVISER]
        self.head_teacher = self.users[Role.HEAD_TEACHER]
        self.instructor = self.users[Role.INSTRUCTOR]
        self.subject = create_subject(actor=self.principal, code="math", name="数学", name_en="Maths")
        self.package_course = create_course(
            actor=self.principal,
            subject=self.subject,
            name="奥数 48 课时",
            name_en="Olympiad maths 48h",
            price_model="package",
            package_hours=Decimal(48),
            package_price=576_000,
            gift_hours=Decimal(4),
            materials_fee=12_000,
            registration_fee=5_000,
        )
        self.lesson_course = create_course(
            actor=self.principal,
            subject=self.subject,
            name="数学单次课",
            price_model="per_lesson",
            lesson_price=15_000,
        )
        self.klass = self.make_class(self.package_course, capacity=20)
        self.lesson_class = self.make_class(self.lesson_course, capacity=20, name="单次课班")
        self.guardian = create_guardian(actor=self.principal, name="张妈妈", phone="13800000001")

    def make_class(self, course, capacity=20, name="奥数A班", campus=None):
        return create_class(
            actor=self.principal,
            course=course,
            campus=campus or self.campus,
            name=name,
            instructor=self.instructor,
            capacity=capacity,
            start_date=datetime.date(2026, 9, 1),
            end_date=datetime.date(2027, 1, 31),
            schedule=[(5, datetime.time(9), datetime.time(10, 30))],
            head_teacher=self.head_teacher,
        )

    def student(self, name="张三", campus=None, guardian=None):
        return create_student(
            actor=self.principal,
            campus=campus or self.campus,
            name=name,
            guardians=[(guardian or self.guardian, "mother")],
        )


@pytest.fixture
def client() -> RoutedClient:
    """pytest-django's, except that API, probe and notification paths take production's stateless stack."""
    return RoutedClient()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Every School creates a user per role; the production hasher would make each test take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def unreachable_site():
    """An address nothing answers at: a port bound for the whole run and never listened on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


@pytest.fixture(autouse=True)
def site_nobody_answers(settings, unreachable_site):
    # The site's own address (the simulated provider's API, callbacks) answers only in tests that
    # serve it themselves, never whatever happens to run on this machine's default port.
    settings.FEEDESK_SITE_URL = unreachable_site


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in English unless a test switches language (the product default is zh-hans).
    with translation.override("en"):
        yield


@pytest.fixture
def school(db) -> School:
    return School()


@pytest.fixture
def other_school(db) -> School:
    return School(slug="other")


@pytest.fixture
def postgres_only(db):
    if not on_postgres():
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (make test does when 5432 answers)")


os.environ.setdefault("FEEDESK_TESTING", "1")
