from typing import Any

from django.db import models

from feedesk.audit.models import AuditEntry


def record_audit(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    amount: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an audit row; call inside the action's own transaction so both commit or neither."""
    return AuditEntry.objects.create(
        organization_id=getattr(target, "organization_id", None) or getattr(actor, "organization_id", None),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        amount=amount,
        data=data or {},
    )
