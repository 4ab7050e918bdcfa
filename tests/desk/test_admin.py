"""Admin edits reference data; money and ledger rows are read-only there."""

import pytest
from django.urls import reverse

from feedesk.users.models import User


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", password="pw-123456"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "ledger/account",
        "ledger/journalentry",
        "ledger/posting",
        "ledger/chainhead",
        "payments/payment",
        "payments/allocation",
        "billing/order",
        "audit/auditentry",
        "enrolment/enrolment",
    ],
)
def test_money_rows_are_read_only(admin_client, school, model):
    assert admin_client.get(f"/admin/{model}/").status_code == 200
    assert admin_client.get(f"/admin/{model}/add/").status_code == 403


def test_journal_entry_cannot_be_changed_or_deleted(admin_client, school):
    from feedesk.enrolment.services import enrol_student
    from feedesk.ledger.models import JournalEntry

    enrol_student(actor=school.cashier, student=school.student(), class_group=school.klass)
    entry = JournalEntry.objects.first()
    assert entry is not None
    change = reverse("admin:ledger_journalentry_change", args=[entry.pk])
    assert admin_client.get(change).status_code == 200  # view only
    assert admin_client.post(change, {"memo": "tampered"}).status_code == 403
    delete = reverse("admin:ledger_journalentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.parametrize("model", ["catalog/course", "catalog/classgroup", "people/guardian", "users/user"])
def test_reference_data_is_editable(admin_client, school, model):
    assert admin_client.get(f"/admin/{model}/add/").status_code == 200
