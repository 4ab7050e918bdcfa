"""Tamper evidence: ledger_verify finds every kind of tampering; the database refuses edits."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from feedesk.billing.models import Order
from feedesk.core.errors import Conflict
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.models import Account, JournalEntry, Posting
from feedesk.ledger.selectors import trial_balance, verify_ledger
from feedesk.payments.services import record_payment

POSTGRES_GUARDED = ("ledger_posting", "ledger_journalentry")
SQLITE_GUARDS = ("ledger_posting_no_update", "ledger_entry_no_update")


@pytest.fixture
def ledger(school):
    """Two enrolments, a payment and a partial payment: six entries to tamper with."""
    first, second = school.student(), school.student(name="李四")
    _e, order = enrol_student(actor=school.cashier, student=first, class_group=school.klass)
    _e2, order2 = enrol_student(actor=school.cashier, student=second, class_group=school.klass)
    record_payment(actor=school.cashier, student=first, amount=order.total + 1_000, channel="cash")
    record_payment(actor=school.cashier, student=second, amount=100_000, channel="wechat_pay")
    return school, order, order2


def disable_guards():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no pending deferred checks: run them now (they pass), then defer again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in POSTGRES_GUARDED:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for trigger in SQLITE_GUARDS:
                cursor.execute(f"DROP TRIGGER {trigger}")


def verify_output() -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("ledger_verify", stdout=out)
    except CommandError as error:
        return error.returncode, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def problems_of(report: dict, check: str) -> list[dict]:
    return [p for p in report["problems"] if p["check"] == check]


def test_clean_ledger_verifies(ledger):
    code, report = verify_output()
    assert code == 0
    assert report["ok"] is True
    assert report["entries_checked"] == JournalEntry.objects.count() == 6
    assert report["problems"] == []


def test_altered_posting_amount_is_found(ledger):
    posting = Posting.objects.filter(amount__gt=0).order_by("pk").first()
    disable_guards()
    Posting.objects.filter(pk=posting.pk).update(amount=posting.amount + 100)
    code, report = verify_output()
    assert code == 2
    assert report["ok"] is False
    assert {p["entry_id"] for p in problems_of(report, "entry_balanced")} == {posting.entry_id}
    assert {p["entry_id"] for p in problems_of(report, "hash_chain")} == {posting.entry_id}
    assert posting.account_id in {p["account_id"] for p in problems_of(report, "cached_balance")}


def test_balanced_alteration_of_two_postings_is_found_by_the_hash(ledger):
    entry = JournalEntry.objects.get(seq=2)
    debit, credit = entry.postings.order_by("-amount")[:2]
    disable_guards()
    Posting.objects.filter(pk=debit.pk).update(amount=debit.amount - 1)
    Posting.objects.filter(pk=credit.pk).update(amount=credit.amount + 1)
    code, report = verify_output()
    assert code == 2
    assert problems_of(report, "entry_balanced") == []
    assert [p["entry_id"] for p in problems_of(report, "hash_chain")] == [entry.pk]


def test_deleted_entry_is_found(ledger):
    entry = JournalEntry.objects.get(seq=2)
    accounts = set(entry.postings.values_list("account_id", flat=True))
    disable_guards()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [entry.pk])
        # Nothing may point at it any more for the row to go.
        cursor.execute("UPDATE billing_order SET issue_entry_id = NULL WHERE issue_entry_id = %s", [entry.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [entry.pk])
    code, report = verify_output()
    assert code == 2
    chain = problems_of(report, "hash_chain")
    assert any(p.get("seq") == 3 and "missing" in p["message"] for p in chain)
    assert accounts <= {p["account_id"] for p in problems_of(report, "cached_balance")}


def test_deleting_the_newest_entry_is_found_by_the_chain_head(ledger):
    newest = JournalEntry.objects.order_by("-seq").first()
    disable_guards()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [newest.pk])
        cursor.execute(
            "UPDATE payments_allocation SET entry_id = %s WHERE entry_id = %s", [newest.pk - 1, newest.pk]
        )
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [newest.pk])
    code, report = verify_output()
    assert code == 2
    assert any("chain head" in p["message"] for p in problems_of(report, "hash_chain"))


def test_changed_cached_balance_is_found(ledger):
    _school, order, _ = ledger
    account = Account.objects.get(student=order.student, role="receivable")
    Account.objects.filter(pk=account.pk).update(debits=account.debits + 5)
    code, report = verify_output()
    assert code == 2
    cached = problems_of(report, "cached_balance")
    assert [(p["account_id"], p["account"]) for p in cached] == [(account.pk, account.code)]
    assert [p["account_id"] for p in problems_of(report, "receivable_matches_orders")] == [account.pk]


def test_changed_order_paid_is_found(ledger):
    _school, _order, order2 = ledger
    Order.objects.filter(pk=order2.pk).update(paid=order2.total)
    code, report = verify_output()
    assert code == 2
    paid = problems_of(report, "order_paid")
    assert [(p["order_id"], p["order"]) for p in paid] == [(order2.pk, order2.number)]


def test_changed_hash_is_found(ledger):
    entry = JournalEntry.objects.get(seq=4)
    disable_guards()
    JournalEntry.objects.filter(pk=entry.pk).update(hash="f" * 64)
    code, report = verify_output()
    assert code == 2
    flagged = {p["entry_id"] for p in problems_of(report, "hash_chain")}
    assert entry.pk in flagged  # its hash no longer matches its contents
    assert JournalEntry.objects.get(seq=5).pk in flagged  # and the next entry no longer links to it


def test_reordered_entries_are_found(ledger):
    two, three = JournalEntry.objects.get(seq=2), JournalEntry.objects.get(seq=3)
    disable_guards()
    JournalEntry.objects.filter(pk=two.pk).update(seq=-1)
    JournalEntry.objects.filter(pk=three.pk).update(seq=2)
    JournalEntry.objects.filter(pk=two.pk).update(seq=3)
    code, report = verify_output()
    assert code == 2
    assert {two.pk, three.pk} <= {p["entry_id"] for p in problems_of(report, "hash_chain")}


def test_altered_memo_is_found(ledger):
    entry = JournalEntry.objects.get(seq=1)
    disable_guards()
    JournalEntry.objects.filter(pk=entry.pk).update(memo="edited")
    assert not verify_ledger().ok


def test_verify_can_be_limited_to_one_organization(ledger, other_school):
    school, order, _ = ledger
    Order.objects.filter(pk=order.pk).update(paid=0)
    assert not verify_ledger(organization_id=school.org.pk).ok
    assert verify_ledger(organization_id=other_school.org.pk).ok
    out = StringIO()
    call_command("ledger_verify", "--organization", str(other_school.org.pk), stdout=out)
    assert json.loads(out.getvalue())["ok"] is True


# Database guards -----------------------------------------------------------------------------


def test_database_refuses_raw_update_of_a_posting(ledger):
    posting = Posting.objects.first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_posting SET amount = amount + 1 WHERE id = %s", [posting.pk])
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=posting.entry_id).update(memo="x")
    assert Posting.objects.get(pk=posting.pk).amount == posting.amount


def test_postgres_refuses_raw_delete_and_unbalanced_entries(ledger, postgres_only):
    posting = Posting.objects.first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE id = %s", [posting.pk])
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [posting.entry_id])
    # The deferred trigger checks balance at commit; SET CONSTRAINTS makes it check now.
    with pytest.raises(Exception, match="unbalanced"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, 7)",
            [posting.entry_id, posting.account_id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Posting.objects.filter(pk=posting.pk).exists()


def test_models_refuse_save_of_existing_rows_and_delete(ledger):
    entry = JournalEntry.objects.first()
    posting = entry.postings.first()
    for row in (entry, posting):
        with pytest.raises(Conflict) as caught:
            row.save()
        assert caught.value.code == "ledger_append_only"
        with pytest.raises(Conflict):
            row.delete()
    assert verify_ledger().ok


# Trial balance --------------------------------------------------------------------------------


def test_trial_balance_command_totals_match_the_selector(ledger):
    school, _order, order2 = ledger
    tb = trial_balance(organization_id=school.org.pk)
    assert tb.total_debits == tb.total_credits > 0
    assert sum(r.balance for r in tb.rows if r.code.startswith("1122.")) == order2.total - 100_000
    out = StringIO()
    call_command("trial_balance", "--organization", school.org.slug, stdout=out)
    text = out.getvalue()
    total_line = next(line for line in text.splitlines() if line.startswith("TOTAL"))
    assert total_line.split()[1:] == [str(tb.total_debits), str(tb.total_credits)]
    for row in tb.rows:
        assert f"{row.code:<22} {row.debits:>14} {row.credits:>14} {row.balance:>14}" in text


def test_trial_balance_as_of_a_date(ledger):
    school, *_ = ledger
    entry = JournalEntry.objects.get(seq=1)
    disable_guards()
    JournalEntry.objects.exclude(pk=entry.pk).update(effective_date="2026-01-02")
    JournalEntry.objects.filter(pk=entry.pk).update(effective_date="2026-01-01")
    early = trial_balance(
        organization_id=school.org.pk, as_of=entry.effective_date.replace(year=2026, month=1, day=1)
    )
    first_entry_total = sum(p.amount for p in entry.postings.all() if p.amount > 0)
    assert early.total_debits == early.total_credits == first_entry_total
    out = StringIO()
    call_command("trial_balance", "--as-of", "2026-01-01", "--organization", school.org.slug, stdout=out)
    assert f"{'TOTAL':<22} {first_entry_total:>14} {first_entry_total:>14}" in out.getvalue()
    out = StringIO()
    call_command("trial_balance", "--as-of", "2025-12-31", "--organization", school.org.slug, stdout=out)
    assert f"{'TOTAL':<22} {0:>14} {0:>14}" in out.getvalue()
