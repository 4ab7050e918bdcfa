"""Posting to the ledger. The only code that writes JournalEntry, Posting or account totals."""

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.core import sql
from feedesk.core.errors import ValidationFailed
from feedesk.ledger.models import (
    ENTRY_FIELDS,
    Account,
    AccountKind,
    AccountRole,
    ChainHead,
    JournalEntry,
    Posting,
)
from feedesk.users.models import User

if TYPE_CHECKING:
    from feedesk.catalog.models import Subject
    from feedesk.enrolment.models import Enrolment
    from feedesk.people.models import Student

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: int  # positive debits, negative credits


@dataclass(frozen=True)
class EntryDraft:
    code: str
    idempotency_key: str
    legs: Sequence[Leg]
    effective_date: date | None = None
    memo: str = ""
    reverses_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def entry_hash(
    *,
    prev_hash: str,
    organization_id: int,
    seq: int,
    code: str,
    effective_date: date,
    recorded_at: datetime.datetime,
    actor_id: int | None,
    idempotency_key: str,
    memo: str,
    reverses_id: int | None,
    legs: Sequence[tuple[int, int]],
) -> str:
    """SHA-256 over the previous hash and everything that gives the entry its meaning."""
    canonical_legs = ",".join(f"{account}:{amount}" for account, amount in sorted(legs))
    text = "|".join(
        [
            prev_hash,
            str(organization_id),
            str(seq),
            code,
            effective_date.isoformat(),
            recorded_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            str(actor_id or ""),
            idempotency_key,
            memo,
            str(reverses_id or ""),
            canonical_legs,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _validate(draft: EntryDraft) -> None:
    if not draft.legs:
        raise ValidationFailed(_("A journal entry needs postings."), code="entry_empty")
    for leg in draft.legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
            raise ValidationFailed(
                _("A posting amount must be a non-zero whole number of fen."), code="posting_invalid"
            )
    if sum(leg.amount for leg in draft.legs) != 0:
        raise ValidationFailed(
            _("Debits and credits of a journal entry must be equal."), code="entry_unbalanced"
        )
    if not draft.idempotency_key or len(draft.idempotency_key) > 255:
        raise ValidationFailed(_("A journal entry needs an idempotency key."), code="entry_key_missing")


# Postings as three arrays (entry, account, amount), so that the statement's text does not
# change with the number of legs, inserted in the order of the legs.
_POSTINGS_FROM_ARRAYS = (
    "INSERT INTO ledger_posting (entry_id, account_id, amount) "
    "SELECT leg.entry_id, leg.account_id, leg.amount "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) WITH ORDINALITY "
    "AS leg(entry_id, account_id, amount, n) ORDER BY leg.n"
)

# Further writes of the caller's, given the entries (with their keys) about to be written.
Writes = Callable[[list[JournalEntry]], Sequence[sql.Statement]]


@dataclass(frozen=True)
class LockedHead:
    """The organization's chain head as locked for a posting, with keys for its entries."""

    id: int
    last_seq: int
    last_hash: str
    entry_ids: list[int]


# id, last seq, last hash, reserved entry keys.
_HEAD_COLUMNS = 4


def _head_lock_statement(*, organization_id: int, entries: int) -> sql.Statement:
    """The SELECT that locks the organization's chain head and reserves keys for `entries`
    entries, as (sql, params), run after the accounts are locked; `_locked_head` reads its row
    (id, last seq, last hash, keys)."""
    return (
        f"SELECT id, last_seq, last_hash, {sql.reserve_ids_column(JournalEntry)} FROM ledger_chainhead "
        f"WHERE organization_id = %s{sql.lock_clause()}",
        [entries, organization_id],
    )


def _locked_head(row: Sequence[Any] | None, *, organization_id: int, entries: int) -> LockedHead:
    if row is None:
        raise ChainHead.DoesNotExist(f"organization {organization_id} has no chain head")
    head_id, last_seq, last_hash, reserved = row
    return LockedHead(head_id, last_seq, last_hash, sql.reserved_ids(reserved, entries))


def lock_accounts_then_head(
    accounts: sql.Statement, *, columns: int, organization_id: int, entries: int
) -> tuple[list[tuple[Any, ...]], LockedHead]:
    """Run the caller's SELECT that locks the accounts a posting will use (in primary-key order,
    `columns` columns, the first never NULL), then lock the chain head (`_head_lock_statement`),
    in one statement; return the accounts' rows and the head, for `post_entries(head=...)`.

    UNION ALL runs its branches in order, so the ledger's lock order holds: accounts, then head.
    """
    accounts_sql, accounts_params = accounts
    head_sql, head_params = _head_lock_statement(organization_id=organization_id, entries=entries)
    width = max(columns, 1 + _HEAD_COLUMNS)
    rows = sql.fetch(
        f"SELECT a.*{', NULL' * (width - columns)} FROM ({accounts_sql}) a "
        f"UNION ALL SELECT {'NULL, ' * (width - _HEAD_COLUMNS)}h.* FROM ({head_sql}) h",
        [*accounts_params, *head_params],
    )
    heads = [row[width - _HEAD_COLUMNS :] for row in rows if row[0] is None]
    head = _locked_head(heads[0] if heads else None, organization_id=organization_id, entries=entries)
    return [row[:columns] for row in rows if row[0] is not None], head


def post_entries(
    *,
    organization_id: int,
    actor: User | None,
    drafts: Sequence[EntryDraft],
    head: LockedHead | None = None,
    then: Writes | None = None,
) -> list[JournalEntry]:
    """Post balanced entries atomically, chaining their hashes and updating cached totals.

    Locks are taken in one fixed order — the accounts by primary key, then the chain head — so
    concurrent posters queue instead of deadlocking. Callers lock their own domain rows (orders,
    classes, counters) before calling, and call this once per transaction.

    `head`: the caller read every account the drafts post to within this organization and
    locked them, then the chain head, in this transaction (`lock_accounts_then_head`), so
    nothing is locked here.

    `then`: the caller's own writes that need the entries' keys (a payment pointing at its
    entry, say), as statements; on PostgreSQL they run in the posting's one statement, so the
    chain head is held for one round trip fewer per write.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("post_entries must run inside transaction.atomic")
    for draft in drafts:
        _validate(draft)
    account_ids = sorted({leg.account_id for draft in drafts for leg in draft.legs})
    if head is None:
        head = _lock_accounts_and_head(organization_id, account_ids, entries=len(drafts))
    head_id, seq, prev_hash, entry_ids = head.id, head.last_seq, head.last_hash, head.entry_ids

    now = timezone.now()
    today = timezone.localdate(now)
    actor_id = actor.pk if actor else None
    entries: list[JournalEntry] = []
    for draft, entry_id in zip(drafts, entry_ids, strict=True):
        seq += 1
        effective = draft.effective_date or today
        digest = entry_hash(
            prev_hash=prev_hash,
            organization_id=organization_id,
            seq=seq,
            code=draft.code,
            effective_date=effective,
            recorded_at=now,
            actor_id=actor_id,
            idempotency_key=draft.idempotency_key,
            memo=draft.memo,
            reverses_id=draft.reverses_id,
            legs=[(leg.account_id, leg.amount) for leg in draft.legs],
        )
        entry: JournalEntry = sql.new(
            JournalEntry,
            {
                "id": entry_id,
                "organization_id": organization_id,
                "seq": seq,
                "code": draft.code,
                "effective_date": effective,
                "recorded_at": now,
                "actor_id": actor_id,
                "idempotency_key": draft.idempotency_key,
                "memo": draft.memo,
                "reverses_id": draft.reverses_id,
                "prev_hash": prev_hash,
                "hash": digest,
            },
            related={"actor": actor},
        )
        entry._state.adding = False
        entry._state.db = connection.alias
        entries.append(entry)
        prev_hash = digest
    legs = [
        (entry.pk, leg.account_id, leg.amount)
        for entry, draft in zip(entries, drafts, strict=True)
        for leg in draft.legs
    ]
    debit_totals: dict[int, int] = defaultdict(int)
    credit_totals: dict[int, int] = defaultdict(int)
    for _entry, account_id, amount in legs:
        if amount > 0:
            debit_totals[account_id] += amount
        else:
            credit_totals[account_id] -= amount
    totals = sql.update_by_pk_statement(
        Account, account_ids, add={"debits": debit_totals, "credits": credit_totals}
    )
    assert totals is not None  # balanced, non-zero legs move at least two accounts
    head_update = "UPDATE ledger_chainhead SET last_seq = %s, last_hash = %s WHERE id = %s"
    insert = sql.insert_statement(
        JournalEntry, ("id", *ENTRY_FIELDS), [[e.pk, *(getattr(e, n) for n in ENTRY_FIELDS)] for e in entries]
    )
    writes = [*(then(entries) if then else ())]
    if connection.vendor == "postgresql":
        entry_column, accounts, amounts = (list(column) for column in zip(*legs, strict=True))
        postings = (_POSTINGS_FROM_ARRAYS, [entry_column, accounts, amounts])
    else:
        postings = sql.insert_statement(Posting, ("entry_id", "account_id", "amount"), legs)
    # On PostgreSQL one round trip for every write.
    sql.execute_together([insert, postings, totals, (head_update, [seq, prev_hash, head_id]), *writes])
    return entries


def _lock_accounts_and_head(organization_id: int, account_ids: list[int], *, entries: int) -> LockedHead:
    """Lock the accounts by pk, then the chain head, reserving keys for the entries.

    Refuses accounts of another organization before anything is written.
    """
    in_accounts = sql.placeholders(len(account_ids))
    if connection.features.has_select_for_update:
        rows, head = lock_accounts_then_head(
            (
                f"SELECT id FROM ledger_account WHERE organization_id = %s AND id IN ({in_accounts}) "
                "ORDER BY id FOR UPDATE",
                [organization_id, *account_ids],
            ),
            columns=1,
            organization_id=organization_id,
            entries=entries,
        )
        all_found = [pk for (pk,) in rows] == account_ids
    else:
        # SQLite holds its single write lock from BEGIN IMMEDIATE: one read checks the accounts
        # and reads the head.
        head_sql, head_params = _head_lock_statement(organization_id=organization_id, entries=entries)
        found = sql.fetch(
            f"SELECT h.*, (SELECT COUNT(*) FROM ledger_account "
            f"WHERE organization_id = %s AND id IN ({in_accounts})) FROM ({head_sql}) h",
            [organization_id, *account_ids, *head_params],
        )
        head = _locked_head(found[0][:4] if found else None, organization_id=organization_id, entries=entries)
        all_found = found[0][4] == len(account_ids)
    if not all_found:
        raise ValidationFailed(
            _("A posting names an account of another organization."), code="account_unknown"
        )
    return head


def reversal_draft(
    *, entry: JournalEntry, idempotency_key: str, memo: str = "", code: str = "REVERSAL"
) -> EntryDraft:
    """The mirror image of `entry`, pointing back at it."""
    legs = [Leg(account_id=p.account_id, amount=-p.amount) for p in entry.postings.all().order_by("pk")]
    return EntryDraft(code=code, idempotency_key=idempotency_key, legs=legs, memo=memo, reverses_id=entry.pk)


# Opening accounts ---------------------------------------------------------------------------


def _open(organization_id: int, code: str, name: str, kind: str, role: str, **dims: object) -> Account:
    account, _created = Account.objects.get_or_create(
        organization_id=organization_id,
        code=code,
        defaults={"name": name, "kind": kind, "role": role, **dims},
    )
    return account


@transaction.atomic
def open_organization_accounts(*, organization: models.Model) -> None:
    org_id = organization.pk
    ChainHead.objects.get_or_create(organization_id=org_id)
    _open(
        org_id,
        "6051.materials",
        "其他业务收入-教材 Materials income",
        AccountKind.INCOME,
        AccountRole.MATERIALS_INCOME,
    )
    _open(
        org_id,
        "6051.registration",
        "其他业务收入-报名费 Registration fees",
        AccountKind.INCOME,
        AccountRole.REGISTRATION_INCOME,
    )
    _open(
        org_id, "6051.other", "其他业务收入-杂项 Other income", AccountKind.INCOME, AccountRole.OTHER_INCOME
    )


def open_clearing_account(
    *, organization_id: int, channel: str, label: str, campus_id: int | None = None, campus_code: str = ""
) -> Account:
    if campus_id is not None:
        return _open(
            organization_id,
            f"1001.{campus_code}",
            f"库存现金 Cash · {label}",
            AccountKind.ASSET,
            AccountRole.CASH,
            campus_id=campus_id,
            channel=channel,
        )
    return _open(
        organization_id,
        f"1012.{channel}",
        f"其他货币资金 Clearing · {label}",
        AccountKind.ASSET,
        AccountRole.CLEARING,
        channel=channel,
    )


def open_student_accounts(*, student: "Student") -> tuple[Account, Account]:
    org_id, number = student.organization_id, student.number
    receivable = _open(
        org_id,
        f"1122.{number}",
        f"应收账款 Receivable · {student}",
        AccountKind.ASSET,
        AccountRole.RECEIVABLE,
        student=student,
    )
    credit = _open(
        org_id,
        f"2203.{number}",
        f"学员余额 Credit · {student}",
        AccountKind.LIABILITY,
        AccountRole.STUDENT_CREDIT,
        student=student,
    )
    return receivable, credit


def open_subject_account(*, subject: "Subject") -> Account:
    return _open(
        subject.organization_id,
        f"6001.{subject.code}",
        f"主营业务收入 Tuition revenue · {subject}",
        AccountKind.INCOME,
        AccountRole.TUITION_REVENUE,
        subject=subject,
    )


def open_enrolment_account(*, enrolment: "Enrolment") -> Account:
    return _open(
        enrolment.organization_id,
        f"2204.E{enrolment.pk}",
        f"合同负债-预收学费 Deferred tuition · E{enrolment.pk}",
        AccountKind.LIABILITY,
        AccountRole.DEFERRED_TUITION,
        enrolment=enrolment,
        subject_id=enrolment.class_group.course.subject_id,
    )
