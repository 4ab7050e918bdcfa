from django import template

from feedesk.core.money import format_money, to_major
from feedesk.core.permissions import Capability, has_capability
from feedesk.desk.numerals import rmb_upper

register = template.Library()


@register.filter
def money(fen: int | None, currency: str = "CNY") -> str:
    return "" if fen is None else format_money(int(fen), currency or "CNY")


@register.filter
def major(fen: int | None) -> str:
    """Fen as a plain decimal for form inputs ("128.50")."""
    return "" if fen is None else str(to_major(int(fen)))


@register.filter
def capitals(fen: int) -> str:
    return rmb_upper(int(fen))


@register.filter
def can(user: object, capability: str) -> bool:
    return has_capability(user, Capability(capability))  # type: ignore[arg-type]


@register.filter
def hours(value: object) -> str:
    """Decimal hours without trailing zeros: 48.00 → 48, 1.50 → 1.5."""
    text = f"{value}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def entry_code(code: str) -> str:
    from feedesk.ledger.models import EntryCode

    return str(EntryCode(code).label) if code in EntryCode.values else code
