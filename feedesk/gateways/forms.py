from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from feedesk.gateways.models import GatewayConfig, GatewayKind
from feedesk.gateways.registry import simulated_allowed
from feedesk.gateways.secrets import mask
from feedesk.gateways.services import PLAIN_FIELDS, SECRET_FIELDS


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value: a saved secret cannot be read back from the page."""

    def format_value(self, value: Any) -> None:
        return None


class GatewayConfigForm(forms.Form):
    active = forms.ChoiceField(label=_("Active gateway"), required=False)
    sandbox = forms.BooleanField(label=_("Alipay sandbox"), required=False)

    def __init__(self, *args: Any, config: GatewayConfig | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("Off"))] + [
            (k.value, k.label) for k in GatewayKind if k != GatewayKind.SIMULATED or simulated_allowed()
        ]
        self.fields["active"].choices = choices  # type: ignore[attr-defined]
        for name in PLAIN_FIELDS:
            label = GatewayConfig._meta.get_field(name).verbose_name  # type: ignore[union-attr]
            long_text = name in ("wechat_platform_cert", "wechat_platform_public_key", "alipay_public_key")
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}) if long_text else forms.TextInput(),
            )
        for name in SECRET_FIELDS:
            label = GatewayConfig._meta.get_field(name).verbose_name  # type: ignore[union-attr]
            saved = getattr(config, name, "") if config else ""
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                strip=True,
                widget=(
                    forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                    if name == "wechat_apiv3_key"
                    else WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off"})
                ),
                help_text=str(mask(saved)) + " · " + str(_("leave blank to keep")),
            )
        if config is not None and not self.is_bound:
            self.initial.update({"active": config.active, "sandbox": config.sandbox})
            self.initial.update({name: getattr(config, name) for name in PLAIN_FIELDS})
