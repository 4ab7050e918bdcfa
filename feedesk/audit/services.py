from typing import Any, Required, TypedDict, Unpack

from django.db import models

from feedesk.audit.models import AuditEntry
from feedesk.core import sql


class AuditFields(TypedDict, total=False):
    actor: Required[Any]
    action: Required[str]
    target: Required[models.Model]
    amount: int | None
    data: dict[str, Any] | None


def record_audit(**fields: Unpack[AuditFields]) -> AuditEntry:
    """Append an audit row; call inside the action's own transaction so both commit or neither."""
    entry = new_audit_entry(**fields)
    sql.insert_instance(entry)  # every money operation writes one: the lean insert keeps it cheap
    return entry


def new_audit_entry(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    amount: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """The audit row `record_audit` appends, unsaved, for a caller that writes it in a statement
    of its own (`sql.insert_instances_statement`) in the action's transaction."""
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
    return entry
