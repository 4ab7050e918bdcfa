"""Money is an int of minor units (fen). Decimals exist only at the edges: parsing and display."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from feedesk.core.errors import ValidationFailed

MINOR_UNITS = 100  # CNY and the other currencies FeeDesk supports have two decimals.


def parse_amount(value: str | int | Decimal | None, *, allow_zero: bool = False) -> int:
    """Parse a user-entered major-unit amount ("128.50") into minor units (12850).

    Refuses negatives, zero (unless allowed), more than two decimals and anything not a number.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(_("Enter an amount."), code="amount_required")
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("¥", ""))
    except InvalidOperation:
        raise ValidationFailed(
            _("“%(value)s” is not an amount.") % {"value": value}, code="amount_invalid"
        ) from None
    if not amount.is_finite():
        raise ValidationFailed(_("“%(value)s” is not an amount.") % {"value": value}, code="amount_invalid")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(_("An amount can have at most two decimal places."), code="amount_too_precise")
    minor = int((amount * MINOR_UNITS).to_integral_value())
    check_amount(minor, allow_zero=allow_zero)
    return minor


def check_amount(minor: int, *, allow_zero: bool = False) -> int:
    """Validate an amount already in minor units."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise ValidationFailed(_("An amount must be a whole number of fen."), code="amount_invalid")
    if minor < 0 or (minor == 0 and not allow_zero):
        raise ValidationFailed(_("The amount must be greater than zero."), code="amount_not_positive")
    if minor > 10**13:
        raise ValidationFailed(_("The amount is too large."), code="amount_too_large")
    return minor


def to_major(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_UNITS).quantize(Decimal("0.01"))


def format_money(minor: int, currency: str = "CNY") -> str:
    symbol = "¥" if currency == "CNY" else f"{currency} "
    sign = "-" if minor < 0 else ""
    return f"{sign}{symbol}{to_major(abs(minor)):,.2f}"


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights` so that the parts add up to `total` exactly.

    Each part gets the floor of its exact share; the fen left over go one each to the parts
    with the largest remainders (earliest part wins a tie), so nothing is lost or invented.
    """
    if not weights:
        if total:
            raise ValueError("cannot split a non-zero total over no parts")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * len(weights)
        weight_sum = len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    leftover = magnitude - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        parts[index] += 1
    return [sign * p for p in parts]


def percentage_of(amount: int, basis_points: int) -> int:
    """`basis_points` (1/100 of a percent) of `amount`, rounded half up to the fen."""
    exact = Decimal(amount) * Decimal(basis_points) / Decimal(10_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
