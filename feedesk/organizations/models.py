from django.db import models
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    """A school (机构). Every tenant-owned row points here."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    timezone = models.CharField(_("timezone"), max_length=64, default="Asia/Shanghai")
    default_due_days = models.PositiveSmallIntegerField(_("days until an order is due"), default=7)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class Campus(models.Model):
    """A campus (校区) of an organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="campuses", db_index=False
    )
    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(_("code"), max_length=32)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("campus")
        verbose_name_plural = _("campuses")
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="campus_code_unique")]

    def __str__(self) -> str:
        return self.name


class Counter(models.Model):
    """Gap-free human numbers (orders, receipts, students) per organization."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, db_index=False)
    name = models.CharField(max_length=32)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="counter_unique")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
