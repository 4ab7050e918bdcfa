"""Reads of the ledger: balances, trial balance, statements and the integrity check."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q, Sum

from feedesk.ledger.models import (
    DEBIT_NORMAL,
    ENTRY_FIELDS,
    Account,
    AccountRole,
    ChainHead,
    JournalEntry,
    Posting,
)
from feedesk.ledger.services import GENESIS_HASH, entry_hash

# Other contexts add their own consistency checks (for example, order paid = allocations).
# Each returns a list of problems: dicts with at least "check" and "message".
Problem = dict[str, Any]
EXTRA_CHECKS: list[Callable[[int | None], list[Problem]]] = []


def register_check(check: Callable[[int | None], list[Problem]]) -> None:
    if check not in EXTRA_CHECKS:
        EXTRA_CHECKS.append(check)


@dataclass
class VerifyReport:
    ok: bool
    entries_checked: int
    accounts_checked: int
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "accounts_checked": self.accounts_checked,
            "problems": self.problems,
        }


def _entry_rows(organization_id: int | None) -> Iterator[dict[str, Any]]:
    qs = JournalEntry.objects.all()
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    for row in qs.order_by("organization_id", "seq").values("pk", *ENTRY_FIELDS).iterator(chunk_size=5000):
        yield dict(row)


def _legs_by_entry(organization_id: int | None) -> dict[int, list[tuple[int, int]]]:
    qs = Posting.objects.all()
    if organization_id is not None:
        qs = qs.filter(entry__organization_id=organization_id)
    legs: dict[int, list[tuple[int, int]]] = {}
    for entry_id, account_id, amount in qs.values_list("entry_id", "account_id", "amount").iterator(
        chunk_size=10000
    ):
        legs.setdefault(entry_id, []).append((account_id, amount))
    return legs


def verify_ledger(*, organization_id: int | None = None) -> VerifyReport:
    """Recompute everything the ledger caches or promises and report every disagreement."""
    problems: list[Problem] = []
    legs = _legs_by_entry(organization_id)

    entries_checked = 0
    expected_prev: dict[int, tuple[int, str]] = {}
    for row in _entry_rows(organization_id):
        entries_checked += 1
        org = row["organization_id"]
        last_seq, last_hash = expected_prev.get(org, (0, GENESIS_HASH))
        entry_legs = legs.get(row["pk"], [])
        total = sum(amount for _account, amount in entry_legs)
        if not entry_legs or total != 0:
            problems.append(
                {
                    "check": "entry_balanced",
                    "entry_id": row["pk"],
                    "seq": row["seq"],
                    "message": f"entry {row['pk']} (seq {row['seq']}) postings sum to {total}",
                }
            )
        if row["seq"] != last_seq + 1:
            problems.append(
                {
                    "check": "hash_chain",
                    "entry_id": row["pk"],
                    "seq": row["seq"],
                    "message": f"entry {row['pk']}: seq {row['seq']} follows {last_seq}; entries are missing",
                }
            )
        if row["prev_hash"] != last_hash:
            problems.append(
                {
                    "check": "hash_chain",
                    "entry_id": row["pk"],
                    "seq": row["seq"],
                    "message": f"entry {row['pk']} (seq {row['seq']}) does not link to the entry before it",
                }
            )
        recomputed = entry_hash(
            prev_hash=row["prev_hash"],
            organization_id=org,
            seq=row["seq"],
            code=row["code"],
            effective_date=row["effective_date"],
            recorded_at=row["recorded_at"],
            actor_id=row["actor_id"],
            idempotency_key=row["idempotency_key"],
            memo=row["memo"],
            reverses_id=row["reverses_id"],
            legs=entry_legs,
        )
        if recomputed != row["hash"]:
            problems.append(
                {
                    "check": "hash_chain",
                    "entry_id": row["pk"],
                    "seq": row["seq"],
                    "message": f"entry {row['pk']} (seq {row['seq']}) was altered: its hash does not match",
                }
            )
        expected_prev[org] = (row["seq"], row["hash"])

    heads = ChainHead.objects.all()
    if organization_id is not None:
        heads = heads.filter(organization_id=organization_id)
    for head in heads:
        seen_seq, seen_hash = expected_prev.get(head.organization_id, (0, GENESIS_HASH))
        if (head.last_seq, head.last_hash) != (seen_seq, seen_hash):
            problems.append(
                {
                    "check": "hash_chain",
                    "organization_id": head.organization_id,
                    "message": f"chain head says seq {head.last_seq} but the newest entry is seq {seen_seq}; "
                    "entries were removed or the head was changed",
                }
            )

    accounts = Account.objects.all()
    if organization_id is not None:
        accounts = accounts.filter(organization_id=organization_id)
    sums = {
        row["account_id"]: (row["d"] or 0, row["c"] or 0)
        for row in Posting.objects.filter(account__in=accounts)
        .values("account_id")
        .annotate(d=Sum("amount", filter=Q(amount__gt=0)), c=Sum("amount", filter=Q(amount__lt=0)))
    }
    accounts_checked = 0
    for account_id, code, debits, credits in accounts.values_list("pk", "code", "debits", "credits"):
        accounts_checked += 1
        posted_d, posted_c = sums.get(account_id, (0, 0))
        if (debits, credits) != (posted_d, -posted_c):
            problems.append(
                {
                    "check": "cached_balance",
                    "account_id": account_id,
                    "account": code,
                    "message": f"account {code}: cached debits/credits {debits}/{credits} but postings give "
                    f"{posted_d}/{-posted_c}",
                }
            )

    for check in EXTRA_CHECKS:
        problems.extend(check(organization_id))
    return VerifyReport(
        ok=not problems, entries_checked=entries_checked, accounts_checked=accounts_checked, problems=problems
    )


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    debits: int
    credits: int
    balance: int


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    total_debits: int
    total_credits: int
    currency: str


def trial_balance(*, organization_id: int, as_of: date | None = None) -> TrialBalance:
    """Every account's debits, credits and normal-side balance, from postings (as of a date if given)."""
    postings = Posting.objects.filter(entry__organization_id=organization_id)
    if as_of is not None:
        postings = postings.filter(entry__effective_date__lte=as_of)
    sums = {
        row["account_id"]: (row["d"] or 0, -(row["c"] or 0))
        for row in postings.values("account_id").annotate(
            d=Sum("amount", filter=Q(amount__gt=0)), c=Sum("amount", filter=Q(amount__lt=0))
        )
    }
    rows = []
    currency = "CNY"
    for account in Account.objects.filter(organization_id=organization_id).order_by("code"):
        debits, credits = sums.get(account.pk, (0, 0))
        balance = debits - credits if account.kind in DEBIT_NORMAL else credits - debits
        rows.append(
            TrialBalanceRow(
                code=account.code, name=account.name, debits=debits, credits=credits, balance=balance
            )
        )
        currency = account.currency
    return TrialBalance(
        rows=rows,
        total_debits=sum(r.debits for r in rows),
        total_credits=sum(r.credits for r in rows),
        currency=currency,
    )


def student_accounts(*, student_id: int) -> dict[str, Account]:
    """The student's receivable and credit accounts, keyed by role."""
    return {
        a.role: a
        for a in Account.objects.filter(
            student_id=student_id, role__in=[AccountRole.RECEIVABLE, AccountRole.STUDENT_CREDIT]
        )
    }


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    seq: int
    code: str
    effective_date: date
    memo: str
    charge: int  # increases what the student owes
    payment: int  # decreases it
    moved: int  # money moved between the student's own accounts (an allocation from credit)
    running_balance: int  # positive: owed; negative: in credit


def student_statement(
    *, student_id: int, date_from: date | None = None, date_to: date | None = None
) -> tuple[int, list[StatementLine]]:
    """Every entry touching the student's accounts with the net balance (owed − credit) after it.

    Returns the opening balance (before `date_from`) and the lines.
    """
    accounts = list(student_accounts(student_id=student_id).values())
    account_ids = [a.pk for a in accounts]
    postings = (
        Posting.objects.filter(account_id__in=account_ids)
        .values("entry_id", "entry__seq", "entry__code", "entry__effective_date", "entry__memo")
        .annotate(net=Sum("amount"), debited=Sum("amount", filter=Q(amount__gt=0)))
        .order_by("entry__seq")
    )
    opening = 0
    running = 0
    lines: list[StatementLine] = []
    for row in postings:
        running += row["net"]
        day = row["entry__effective_date"]
        if date_from and day < date_from:
            opening = running
            continue
        if date_to and day > date_to:
            continue
        net = row["net"]
        lines.append(
            StatementLine(
                entry_id=row["entry_id"],
                seq=row["entry__seq"],
                code=row["entry__code"],
                effective_date=day,
                memo=row["entry__memo"],
                charge=net if net > 0 else 0,
                payment=-net if net < 0 else 0,
                moved=(row["debited"] or 0) if net == 0 else 0,
                running_balance=running,
            )
        )
    return opening, lines
