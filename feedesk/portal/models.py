"""The portal's own rows: the school's web options, sign-in codes and the payer's cart."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortalSettings(models.Model):
    """Web options → Carts & Checkout, one row per school (created with the defaults on first use)."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, related_name="portal_settings"
    )
    carts_enabled = models.BooleanField(
        _("guardians and students may pay order balances online"), default=False
    )
    allow_partial = models.BooleanField(_("allow partial amounts"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")

    def __str__(self) -> str:
        return f"portal settings {self.organization_id}"


class AccessCode(models.Model):
    """A one-time code that sets a portal password (an invitation or a reset). Only its hash is kept."""

    class Purpose(models.TextChoices):
        INVITE = "invite", _("Invitation")
        RESET = "reset", _("Password reset")

    MAX_ATTEMPTS = 5

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    user = models.ForeignKey(
        "users.User", on_delete=models.CASCADE, related_name="portal_codes", db_index=False
    )
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.user_id}"


class Cart(models.Model):
    """Order balances a payer means to pay in one payment. Frozen while that payment is pending."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FROZEN = "frozen", _("Waiting for payment")
        PAID = "paid", _("Paid")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    owner = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="portal_carts")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # The gateway's merchant order number of the pending (or last) checkout.
    out_trade_no = models.CharField(max_length=32, blank=True)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=~models.Q(status="paid"), name="portal_one_active_cart"
            )
        ]

    def __str__(self) -> str:
        return f"cart {self.pk} ({self.status})"


class CartItem(models.Model):
    """One order in a cart: its whole balance (amount empty) or, when the school allows, part of it."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items", db_index=False)
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(null=True, blank=True)
    # What the cart said when it was checked out: the allocation the payment asked for.
    checkout_amount = models.BigIntegerField(null=True, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "order"], name="portal_cart_order_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gt=0), name="portal_item_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.amount or 'balance'}"
