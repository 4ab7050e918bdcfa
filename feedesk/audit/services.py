from typing import Any

from django.db import models

from feedesk.audit.models import AuditEntry
from feedesk.core import sql


def record_audit(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    amount: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an audit row; call inside the action's own transaction so both commit or neither."""
    organization_id = getattr(target, "organization_id", None) or getattr(actor, "organization_id", None)
    actor = actor if getattr(actor, "pk", None) else None
    entry: AuditEntry = sql.new(
        AuditEntry,
        {
            "organization_id": organization_id,
            "actor_id": actor.pk if actor else None,
            "action": action,
            "target_type": target._meta.label_lower,
            "target_id": target.pk,
            "amount": amount,
            "data": data or {},
        },
        related={"actor": actor},
    )
    sql.insert_instance(entry)  # every money operation writes one: the lean insert keeps it cheap
    return entry
