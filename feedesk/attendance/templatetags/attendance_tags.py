from django import template

from feedesk.core.money import format_money

register = template.Library()


@register.filter
def fen(amount: int | None, currency: str = "CNY") -> str:
    """Display minor units as money: 576000 → ¥5,760.00."""
    return format_money(amount or 0, currency)


@register.filter
def hours(value: object) -> str:
    """Hours without needless decimals: 48.00 → 48, 1.50 → 1.5."""
    text = f"{value}"
    return text.rstrip("0").rstrip(".") if "." in text else text
