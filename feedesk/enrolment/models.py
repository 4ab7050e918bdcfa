from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class Enrolment(models.Model):
    """A student's place in a class, with the hours bought for it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    student = models.ForeignKey("people.Student", on_delete=models.PROTECT, related_name="enrolments")
    class_group = models.ForeignKey(
        "catalog.ClassGroup", on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("class")
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    purchased_hours = models.DecimalField(
        _("purchased hours"), max_digits=8, decimal_places=2, default=Decimal(0)
    )
    gift_hours = models.DecimalField(_("gift hours"), max_digits=8, decimal_places=2, default=Decimal(0))
    consumed_hours = models.DecimalField(
        _("consumed hours"), max_digits=8, decimal_places=2, default=Decimal(0)
    )
    # consumed_hours = paid_consumed_hours + gift_consumed_hours, kept in step by attendance.
    paid_consumed_hours = models.DecimalField(
        _("paid hours consumed"), max_digits=8, decimal_places=2, default=Decimal(0)
    )
    gift_consumed_hours = models.DecimalField(
        _("gift hours consumed"), max_digits=8, decimal_places=2, default=Decimal(0)
    )
    # Tuition recognised so far by consumption and expiry; the ledger is the truth (verified).
    recognised_amount = models.BigIntegerField(_("recognised tuition (fen)"), default=0)
    expired_on = models.DateField(_("expired on"), null=True, blank=True)
    tuition_amount = models.BigIntegerField(_("tuition after discount (fen)"), default=0)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    adviser = models.ForeignKey(
        "users.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    enrolled_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(consumed_hours__gte=0), name="enrolment_consumed_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    paid_consumed_hours__gte=0,
                    gift_consumed_hours__gte=0,
                    paid_consumed_hours__lte=models.F("purchased_hours"),
                    gift_consumed_hours__lte=models.F("gift_hours"),
                ),
                name="enrolment_hours_within_bought",
            ),
        ]

    def __str__(self) -> str:
        return f"E{self.pk} {self.student_id}→{self.class_group_id}"

    @property
    def remaining_hours(self) -> Decimal:
        return self.purchased_hours + self.gift_hours - self.consumed_hours
