from feedesk.core.permissions import Capability, require
from feedesk.gateways.models import GatewayConfig
from feedesk.users.models import User


def gateway_config_for(*, actor: User) -> GatewayConfig | None:
    """The actor's school's gateway settings; only principal and finance may see them at all."""
    require(actor, Capability.MANAGE_GATEWAYS)
    return GatewayConfig.objects.filter(organization_id=actor.tenant_id).first()
