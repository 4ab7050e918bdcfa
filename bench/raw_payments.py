"""The floor to measure the payment service against: the same rows written with plain DB-API calls.

Per payment, one transaction: the receipt counter, two journal entries with their hash-chain
fields (computed by the ledger's own `entry_hash`), four postings, the account totals, the chain
head, the payment, its two allocations, the orders' paid and status, and the audit row. It reads
nothing back that it can keep in memory (the chain head, the orders' paid amounts), so it is the
cheapest way to leave the database in the state the service leaves it in.
"""

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from feedesk.billing.services import status_after_payment
from feedesk.ledger.services import entry_hash

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=20000",
)


@dataclass
class RawOrder:
    pk: int
    number: int
    total: int
    paid: int
    status: str


@dataclass
class RawStudent:
    pk: int
    receivable_id: int
    credit_id: int
    orders: list[RawOrder] = field(default_factory=list)


@dataclass
class RawOrg:
    organization_id: int
    campus_id: int
    actor_id: int
    cash_account_id: int
    chain_head_id: int
    last_seq: int
    last_hash: str
    students: list[RawStudent]


def connect_sqlite(path: str) -> Any:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None, timeout=20)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def connect_postgres(conninfo: str) -> Any:
    import psycopg

    return psycopg.connect(conninfo, autocommit=False)


class RawPaymentWriter:
    """Writes payments for one organization, which no one else writes to while it runs."""

    statements_per_payment = 11  # BEGIN, 9 writes, COMMIT

    def __init__(self, conn: Any, vendor: str, org: RawOrg) -> None:
        self.conn = conn
        self.vendor = vendor
        self.org = org
        self.placeholder = "?" if vendor == "sqlite" else "%s"

    def _sql(self, text: str) -> str:
        return text.replace("%s", self.placeholder) if self.vendor == "sqlite" else text

    def _dt(self, value: datetime.datetime) -> Any:
        # What Django's SQLite backend stores for an aware datetime: naive UTC text.
        if self.vendor == "sqlite":
            return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(" ")
        return value

    def _json(self, data: dict[str, Any]) -> Any:
        if self.vendor == "sqlite":
            return json.dumps(data)
        from psycopg.types.json import Jsonb

        return Jsonb(data)

    def pay(self, *, student: RawStudent, amounts: tuple[int, int], key: str) -> None:
        org = self.org
        o1, o2 = student.orders[0], student.orders[1]
        a1, a2 = amounts
        amount = allocated = a1 + a2
        cur = self.conn.cursor()
        if self.vendor == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(
                self._sql(
                    "UPDATE organizations_counter SET value = value + 1 "
                    "WHERE organization_id = %s AND name = %s RETURNING value"
                ),
                (org.organization_id, "receipt"),
            )
            number = cur.fetchone()[0]
            receipt = f"R{number:08d}"

            now = timezone.now()
            today = timezone.localdate(now)
            drafts = [
                ("PAYMENT_RECEIVED", f"payment:{key}:received", receipt,
                 [(org.cash_account_id, amount), (student.credit_id, -amount)]),
                ("ALLOCATION", f"payment:{key}:allocated", f"#{o1.number} #{o2.number}",
                 [(student.credit_id, allocated), (student.receivable_id, -allocated)]),
            ]  # fmt: skip
            rows: list[Any] = []
            seq, prev = org.last_seq, org.last_hash
            for code, ikey, memo, legs in drafts:
                seq += 1
                digest = entry_hash(
                    prev_hash=prev,
                    organization_id=org.organization_id,
                    seq=seq,
                    code=code,
                    effective_date=today,
                    recorded_at=now,
                    actor_id=org.actor_id,
                    idempotency_key=ikey,
                    memo=memo,
                    reverses_id=None,
                    legs=legs,
                )
                rows += [org.organization_id, seq, code, today, self._dt(now), org.actor_id, ikey, memo,
                         None, prev, digest]  # fmt: skip
                prev = digest
            cur.execute(
                self._sql(
                    "INSERT INTO ledger_journalentry (organization_id, seq, code, effective_date, "
                    "recorded_at, actor_id, idempotency_key, memo, reverses_id, prev_hash, hash) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s), "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, seq"
                ),
                rows,
            )
            entry_by_seq = {s: pk for pk, s in cur.fetchall()}
            received_entry, allocation_entry = entry_by_seq[seq - 1], entry_by_seq[seq]
            cur.execute(
                self._sql(
                    "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES "
                    "(%s, %s, %s), (%s, %s, %s), (%s, %s, %s), (%s, %s, %s)"
                ),
                [
                    received_entry, org.cash_account_id, amount,
                    received_entry, student.credit_id, -amount,
                    allocation_entry, student.credit_id, allocated,
                    allocation_entry, student.receivable_id, -allocated,
                ],
            )  # fmt: skip
            cur.execute(
                self._sql(
                    "UPDATE ledger_account SET "
                    "debits = debits + CASE id WHEN %s THEN %s WHEN %s THEN %s ELSE 0 END, "
                    "credits = credits + CASE id WHEN %s THEN %s WHEN %s THEN %s ELSE 0 END "
                    "WHERE id IN (%s, %s, %s)"
                ),
                [
                    org.cash_account_id, amount, student.credit_id, allocated,
                    student.credit_id, amount, student.receivable_id, allocated,
                    org.cash_account_id, student.credit_id, student.receivable_id,
                ],
            )  # fmt: skip
            cur.execute(
                self._sql("UPDATE ledger_chainhead SET last_seq = %s, last_hash = %s WHERE id = %s"),
                (seq, prev, org.chain_head_id),
            )
            cur.execute(
                self._sql(
                    "INSERT INTO payments_payment (organization_id, campus_id, student_id, receipt_number, "
                    "channel, amount, reference, received_at, status, idempotency_key, recorded_by_id, "
                    "entry_id, reversed_at, reversed_by_id, reversal_reason, reversal_entry_id, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, '', NULL, %s) "
                    "RETURNING id"
                ),
                (org.organization_id, org.campus_id, student.pk, receipt, "cash", amount, "",
                 self._dt(now), "received", key, org.actor_id, received_entry, self._dt(now)),
            )  # fmt: skip
            payment_id = cur.fetchone()[0]
            cur.execute(
                self._sql(
                    "INSERT INTO payments_allocation (organization_id, order_id, payment_id, amount, "
                    "entry_id, reverses_id, created_by_id, created_at) VALUES "
                    "(%s, %s, %s, %s, %s, NULL, %s, %s), (%s, %s, %s, %s, %s, NULL, %s, %s)"
                ),
                [
                    org.organization_id, o1.pk, payment_id, a1, allocation_entry, org.actor_id, self._dt(now),
                    org.organization_id, o2.pk, payment_id, a2, allocation_entry, org.actor_id, self._dt(now),
                ],
            )  # fmt: skip
            s1 = str(status_after_payment(total=o1.total, paid=o1.paid + a1))
            s2 = str(status_after_payment(total=o2.total, paid=o2.paid + a2))
            cur.execute(
                self._sql(
                    "UPDATE billing_order SET "
                    "paid = paid + CASE id WHEN %s THEN %s WHEN %s THEN %s ELSE 0 END, "
                    "status = CASE id WHEN %s THEN %s WHEN %s THEN %s ELSE status END "
                    "WHERE id IN (%s, %s)"
                ),
                (o1.pk, a1, o2.pk, a2, o1.pk, s1, o2.pk, s2, o1.pk, o2.pk),
            )
            cur.execute(
                self._sql(
                    "INSERT INTO audit_auditentry (organization_id, actor_id, action, target_type, "
                    "target_id, amount, data, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                (org.organization_id, org.actor_id, "payment.recorded", "payments.payment", payment_id,
                 amount, self._json({"channel": "cash",
                                     "allocations": {str(o1.pk): a1, str(o2.pk): a2},
                                     "to_credit": amount - allocated}),
                 self._dt(now)),
            )  # fmt: skip
            if self.vendor == "sqlite":
                cur.execute("COMMIT")
            else:
                self.conn.commit()
        except BaseException:
            if self.vendor == "sqlite":
                cur.execute("ROLLBACK")
            else:
                self.conn.rollback()
            raise
        # Only once committed does the in-memory state move on.
        org.last_seq, org.last_hash = seq, prev
        o1.paid, o1.status = o1.paid + a1, s1
        o2.paid, o2.status = o2.paid + a2, s2
