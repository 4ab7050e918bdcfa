from django.db import models
from django.utils.translation import gettext_lazy as _

from feedesk.gateways.secrets import EncryptedTextField


class GatewayKind(models.TextChoices):
    SIMULATED = "simulated", _("Simulated (demo and tests)")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class ClientKind(models.TextChoices):
    DESKTOP = "desktop", _("Computer")
    PHONE = "phone", _("Phone browser")
    WECHAT_BROWSER = "wechat_browser", _("WeChat browser")


class OnlineStatus(models.TextChoices):
    CREATED = "created", _("Created")
    PENDING = "pending", _("Waiting for payment")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CLOSED = "closed", _("Closed")


class GatewayConfig(models.Model):
    """A school's merchant accounts. Secret fields are encrypted at rest and never displayed."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, related_name="gateway_config"
    )
    active = models.CharField(
        _("active gateway"), max_length=12, choices=GatewayKind.choices, blank=True, default=""
    )
    sandbox = models.BooleanField(_("sandbox"), default=False)
    wechat_mchid = models.CharField(_("WeChat Pay merchant id (mchid)"), max_length=32, blank=True)
    wechat_appid = models.CharField(_("WeChat appid"), max_length=32, blank=True)
    wechat_merchant_serial = models.CharField(
        _("merchant certificate serial number"), max_length=64, blank=True
    )
    wechat_merchant_private_key = EncryptedTextField(_("merchant API private key"), blank=True)
    wechat_apiv3_key = EncryptedTextField(_("APIv3 key"), blank=True)
    wechat_platform_cert = models.TextField(_("platform certificate (PEM)"), blank=True)
    wechat_platform_public_key = models.TextField(_("WeChat Pay public key (PEM)"), blank=True)
    wechat_platform_public_key_id = models.CharField(_("WeChat Pay public key id"), max_length=64, blank=True)
    alipay_app_id = models.CharField(_("Alipay app_id"), max_length=32, blank=True)
    alipay_app_private_key = EncryptedTextField(_("Alipay app private key"), blank=True)
    alipay_public_key = models.TextField(_("Alipay public key"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey("users.User", on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("gateway configuration")
        verbose_name_plural = _("gateway configurations")

    def __str__(self) -> str:
        return f"{self.organization_id}:{self.active or '-'}"


class SimulatedKeys(models.Model):
    """The simulated provider's keys for one school, generated on first use."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, related_name="simulated_gateway_keys"
    )
    mchid = models.CharField(max_length=32)
    appid = models.CharField(max_length=32)
    merchant_serial = models.CharField(max_length=64)
    merchant_private_key = EncryptedTextField()
    platform_key_id = models.CharField(max_length=64)
    platform_private_key = EncryptedTextField()
    apiv3_key = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.mchid


class SimulatedTransaction(models.Model):
    """The simulated provider's own record of a transaction (its side, not FeeDesk's)."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="+")
    out_trade_no = models.CharField(max_length=32, unique=True)
    description = models.CharField(max_length=127)
    amount = models.BigIntegerField()
    trade_state = models.CharField(max_length=16, default="NOTPAY")
    transaction_id = models.CharField(max_length=32, blank=True)
    success_time = models.DateTimeField(null=True, blank=True)
    notify_url = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.out_trade_no


class SystemAccount(models.Model):
    """The user the gateway posts payments as. It holds the cashier role and cannot log in."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, related_name="gateway_system_account"
    )
    user = models.OneToOneField("users.User", on_delete=models.PROTECT, related_name="gateway_system_account")

    def __str__(self) -> str:
        return self.user.username


class OnlinePayment(models.Model):
    """One checkout through a gateway: what was asked for, what the provider said, what was posted."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    student = models.ForeignKey("people.Student", on_delete=models.PROTECT, related_name="online_payments")
    guardian = models.ForeignKey(
        "people.Guardian", on_delete=models.PROTECT, null=True, blank=True, related_name="online_payments"
    )
    out_trade_no = models.CharField(_("merchant order number"), max_length=32, unique=True)
    amount = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(max_length=3, default="CNY")
    description = models.CharField(_("description"), max_length=127)
    # [{"order_id": …, "amount": …}] as the payer asked; re-priced against balances when it succeeds.
    requested_allocations = models.JSONField(default=list)
    gateway = models.CharField(_("gateway"), max_length=12, choices=GatewayKind.choices)
    client = models.CharField(max_length=16, choices=ClientKind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=OnlineStatus.choices, default=OnlineStatus.CREATED
    )
    provider_transaction_id = models.CharField(_("provider transaction id"), max_length=64, blank=True)
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="online_payment"
    )
    return_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("online payment")
        verbose_name_plural = _("online payments")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="online_payment_positive")
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.out_trade_no

    @property
    def amount_display(self) -> str:
        from feedesk.core.money import format_money

        return format_money(self.amount, self.currency)


class OnlinePaymentEvent(models.Model):
    """Append-only log of every callback and query result, verified or refused, applied or ignored."""

    class Source(models.TextChoices):
        CALLBACK = "callback", _("Callback")
        QUERY = "query", _("Query")
        CREATE = "create", _("Created")

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        DUPLICATE = "duplicate", _("Already applied")
        IGNORED = "ignored", _("Ignored (older than the current status)")
        REFUSED = "refused", _("Refused")
        NO_CHANGE = "no_change", _("No change")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, null=True)
    online_payment = models.ForeignKey(
        OnlinePayment, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    gateway = models.CharField(max_length=12, choices=GatewayKind.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    verified = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=64, blank=True)
    out_trade_no = models.CharField(max_length=64, blank=True)
    reported_status = models.CharField(max_length=12, blank=True)
    amount = models.BigIntegerField(null=True, blank=True)
    provider_transaction_id = models.CharField(max_length=64, blank=True)
    status_before = models.CharField(max_length=12, blank=True)
    status_after = models.CharField(max_length=12, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.source}:{self.outcome}:{self.out_trade_no}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("online payment events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("online payment events are append-only")
