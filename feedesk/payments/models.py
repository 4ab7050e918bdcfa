from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    CASH = "cash", _("Cash")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    POS = "pos", _("POS card terminal")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    ONLINE = "online", _("Online (portal)")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received through one channel. Allocated to orders; the rest is the student's credit."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        REVERSED = "reversed", _("Reversed")

    # No index of its own: the composite indexes below lead with it, and a lone organization index
    # tempts the planner, on a young table, into scanning a school's payments for one key.
    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    campus = models.ForeignKey("organizations.Campus", on_delete=models.PROTECT, verbose_name=_("campus"))
    # Led by the (student, received_at) index below; an index of its own would be written for nothing.
    student = models.ForeignKey(
        "people.Student", on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    receipt_number = models.CharField(_("receipt number"), max_length=32)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    amount = models.BigIntegerField(_("amount (fen)"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received at"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    idempotency_key = models.CharField(max_length=255)
    recorded_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversal_reason = models.CharField(max_length=300, blank=True)
    reversal_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(fields=["organization", "receipt_number"], name="receipt_number_unique"),
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="payment_idempotency_unique"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_positive"),
        ]
        indexes = [
            models.Index(fields=["organization", "received_at"]),
            models.Index(fields=["student", "received_at"]),
        ]

    def __str__(self) -> str:
        return self.receipt_number

    @property
    def allocated(self) -> int:
        return sum(a.amount for a in self.allocations.all())


class Allocation(models.Model):
    """Part of a payment (or of the student's credit) applied to one order. Append-only:
    a reversal adds a negative allocation pointing at the one it undoes."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    amount = models.BigIntegerField()
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="allocation_not_zero")]

    def __str__(self) -> str:
        return f"{self.amount:+d} → order {self.order_id}"

    @property
    def from_credit(self) -> bool:
        return self.payment_id is None
