"""The portal's display filters: its Jinja2 pages use them through feedesk.portal.jinja2env."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _

from feedesk.core.money import format_money, to_major

register = template.Library()


@register.filter
def money(minor: int | None) -> str:
    return format_money(minor or 0)


@register.filter
def major(minor: int | None) -> str:
    return f"{to_major(minor or 0):.2f}"


@register.filter
def hours(value: Decimal | None) -> str:
    """4.00 → "4", 1.50 → "1.5"."""
    if value is None:
        return "0"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


MARK_STATUS = {"present": _("Present"), "absent": _("Absent"), "leave": _("Leave")}


@register.filter
def mark_status(status: str) -> str:
    """An attendance mark's status in the payer's words."""
    return str(MARK_STATUS.get(status, status))
