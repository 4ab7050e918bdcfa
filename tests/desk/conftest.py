"""Desk test helpers: signed-in clients and counts that prove nothing was written."""

import pytest
from django.test import Client

from feedesk.audit.models import AuditEntry
from feedesk.billing.models import Order
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import JournalEntry
from feedesk.payments.models import Allocation, Payment


def client_for(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def written() -> tuple[int, ...]:
    """Rows that any money operation adds; equal before and after means nothing was written."""
    return (
        JournalEntry.objects.count(),
        Payment.objects.count(),
        Allocation.objects.count(),
        Order.objects.count(),
        Enrolment.objects.count(),
        AuditEntry.objects.count(),
        *Order.objects.order_by("pk").values_list(
            "status", "paid", "online_payable", "due_date", "external_notes", "internal_notes"
        ),
        *Payment.objects.order_by("pk").values_list("status", flat=True),
    )


@pytest.fixture
def login():
    return client_for
