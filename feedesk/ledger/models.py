"""The double-entry ledger: accounts, append-only journal entries and their postings.

A posting's `amount` is signed: positive debits its account, negative credits it. Every entry's
postings sum to zero. Accounts cache their posted debits and credits (as TigerBeetle does), kept
in step under row locks in the same transaction as the postings.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from feedesk.core.errors import Conflict


class AccountKind(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")
    EQUITY = "equity", _("Equity")


DEBIT_NORMAL = {AccountKind.ASSET, AccountKind.EXPENSE}


class AccountRole(models.TextChoices):
    """What an account is for, so services find accounts by meaning rather than by code."""

    CASH = "cash", _("Cash")
    CLEARING = "clearing", _("Channel clearing")
    RECEIVABLE = "receivable", _("Student receivable")
    STUDENT_CREDIT = "student_credit", _("Student credit")
    DEFERRED_TUITION = "deferred_tuition", _("Deferred tuition")
    TUITION_REVENUE = "tuition_revenue", _("Tuition revenue")
    MATERIALS_INCOME = "materials_income", _("Materials income")
    REGISTRATION_INCOME = "registration_income", _("Registration fee income")
    OTHER_INCOME = "other_income", _("Other income")


class Account(models.Model):
    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    role = models.CharField(max_length=24, choices=AccountRole.choices)
    currency = models.CharField(max_length=3, default="CNY")
    campus = models.ForeignKey("organizations.Campus", on_delete=models.PROTECT, null=True, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    student = models.ForeignKey(
        "people.Student", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    subject = models.ForeignKey("catalog.Subject", on_delete=models.PROTECT, null=True, blank=True)
    enrolment = models.OneToOneField(
        "enrolment.Enrolment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deferred_account",
    )
    debits = models.BigIntegerField(default=0)
    credits = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="account_code_unique"),
            models.CheckConstraint(
                condition=models.Q(debits__gte=0, credits__gte=0), name="account_totals_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role", "channel"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def balance(self) -> int:
        """Balance on the account's normal side (what a debit-normal asset holds, what a liability owes)."""
        if self.kind in DEBIT_NORMAL:
            return self.debits - self.credits
        return self.credits - self.debits


class EntryCode(models.TextChoices):
    ORDER_ISSUED = "ORDER_ISSUED", _("Order issued")
    ORDER_CANCELLED = "ORDER_CANCELLED", _("Order cancelled")
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED", _("Payment received")
    ALLOCATION = "ALLOCATION", _("Allocation")
    CREDIT_APPLIED = "CREDIT_APPLIED", _("Credit applied")
    REVERSAL = "REVERSAL", _("Reversal")
    CONSUMPTION = "CONSUMPTION", _("Class-hour consumption")
    EXPIRY = "EXPIRY", _("Expiry")
    REFUND = "REFUND", _("Refund")
    LATE_FEE = "LATE_FEE", _("Late fee")


class AppendOnly(models.Model):
    """Posted ledger rows are never changed or deleted; corrections are reversal entries."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise Conflict(_("Ledger rows are append-only."), code="ledger_append_only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise Conflict(_("Ledger rows are append-only."), code="ledger_append_only")


# The columns an entry is written with, and that its hash and the chain check read back.
ENTRY_FIELDS = (
    "organization_id",
    "seq",
    "code",
    "effective_date",
    "recorded_at",
    "actor_id",
    "idempotency_key",
    "memo",
    "reverses_id",
    "prev_hash",
    "hash",
)


class JournalEntry(AppendOnly):
    # The unique (organization, seq) and (organization, idempotency_key) indexes lead with it.
    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    seq = models.BigIntegerField(help_text="Position in the organization's hash chain, from 1.")
    code = models.CharField(max_length=24, choices=EntryCode.choices)
    effective_date = models.DateField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey("users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=255)
    memo = models.CharField(max_length=300, blank=True)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="entry_idempotency_unique"
            ),
            models.UniqueConstraint(fields=["organization", "seq"], name="entry_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.code}"


class Posting(AppendOnly):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    # The (account, entry) index leads with it: each posting writes one index fewer.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = models.BigIntegerField(help_text="Signed minor units: positive debits, negative credits.")

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="posting_not_zero")]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"


class ChainHead(models.Model):
    """The newest entry of an organization's hash chain. Locked last by every posting."""

    organization = models.OneToOneField("organizations.Organization", on_delete=models.PROTECT)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain {self.organization_id} @ {self.last_seq}"
