from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class Order(models.Model):
    """What a student owes. `paid` caches the sum of its allocations; the ledger is the truth."""

    class Kind(models.TextChoices):
        ENROLMENT = "enrolment", _("Enrolment")
        MANUAL = "manual", _("Manual")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    campus = models.ForeignKey("organizations.Campus", on_delete=models.PROTECT, verbose_name=_("campus"))
    student = models.ForeignKey(
        "people.Student", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    number = models.PositiveIntegerField(_("order number"))
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT
    )
    total = models.BigIntegerField(_("total (fen)"), default=0)
    paid = models.BigIntegerField(_("paid (fen)"), default=0)
    due_date = models.DateField(_("due date"))
    on_account = models.BooleanField(_("on account"), default=False)
    online_payable = models.BooleanField(_("payable online"), default=False)
    external_notes = models.TextField(_("notes for the payer"), blank=True)
    internal_notes = models.TextField(_("internal notes"), blank=True)
    # An enrolment's first order buys its hours; renewals and arrears add further orders.
    enrolment = models.ForeignKey(
        "enrolment.Enrolment", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    issue_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="order_number_unique"),
            models.CheckConstraint(
                condition=models.Q(paid__gte=0, paid__lte=models.F("total")), name="order_not_over_allocated"
            ),
        ]
        indexes = [models.Index(fields=["student", "status", "due_date"])]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def balance(self) -> int:
        if self.status in (OrderStatus.CANCELLED, OrderStatus.DRAFT):
            return 0
        return self.total - self.paid

    @property
    def is_payable(self) -> bool:
        return self.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID)


class OrderLine(models.Model):
    class Kind(models.TextChoices):
        TUITION = "tuition", _("Tuition")
        MATERIALS = "materials", _("Materials")
        REGISTRATION = "registration", _("Registration fee")
        OTHER = "other", _("Other")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal(1))
    unit_price = models.BigIntegerField(default=0)
    gross_amount = models.BigIntegerField()
    discount_amount = models.BigIntegerField(default=0)
    net_amount = models.BigIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    gross_amount__gte=0, discount_amount__gte=0, discount_amount__lte=models.F("gross_amount")
                ),
                name="line_discount_within_gross",
            ),
            models.CheckConstraint(
                condition=models.Q(net_amount=models.F("gross_amount") - models.F("discount_amount")),
                name="line_net_is_gross_less_discount",
            ),
        ]

    def __str__(self) -> str:
        return self.description
