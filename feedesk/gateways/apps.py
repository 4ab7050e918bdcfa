from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewaysConfig(AppConfig):
    name = "feedesk.gateways"
    label = "gateways"
    verbose_name = _("Online payment gateways")
