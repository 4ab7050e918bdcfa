from django.db import models


class AuditEntry(models.Model):
    """Who did what to which object, and with how much money. Written in the action's transaction."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, null=True)
    actor = models.ForeignKey("users.User", on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True)
    amount = models.BigIntegerField(null=True, help_text="Minor units, when the action moves money.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"
