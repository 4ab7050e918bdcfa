from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneycheck import expect_error

from feedesk.core.errors import ValidationFailed
from feedesk.core.money import (
    check_amount,
    format_money,
    parse_amount,
    percentage_of,
    split_largest_remainder,
    to_major,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("128.50", 12_850),
        ("128.5", 12_850),
        ("¥1,234.50", 123_450),
        (" 7 ", 700),
        ("0.01", 1),
        ("1.230", 123),  # a trailing zero is not a third decimal
        (5, 500),
        (Decimal("1.10"), 110),
    ],
)
def test_parse_amount_accepts_amounts(text, fen):
    assert parse_amount(text) == fen


@pytest.mark.parametrize(
    ("text", "code", "english"),
    [
        ("-1", "amount_not_positive", "greater than zero"),
        ("¥-0.50", "amount_not_positive", "greater than zero"),
        ("0", "amount_not_positive", "greater than zero"),
        ("0.00", "amount_not_positive", "greater than zero"),
        ("1.234", "amount_too_precise", "at most two decimal places"),
        ("0.001", "amount_too_precise", "at most two decimal places"),
        ("abc", "amount_invalid", "is not an amount"),
        ("1.2.3", "amount_invalid", "is not an amount"),
        ("NaN", "amount_invalid", "is not an amount"),
        ("Infinity", "amount_invalid", "is not an amount"),
        ("", "amount_required", "Enter an amount"),
        ("   ", "amount_required", "Enter an amount"),
        (None, "amount_required", "Enter an amount"),
        ("1e20", "amount_too_large", "too large"),
    ],
)
def test_parse_amount_refuses_bad_input_with_a_translated_error(text, code, english):
    expect_error(lambda: parse_amount(text), code, english, error=ValidationFailed)


def test_parse_amount_allows_zero_only_when_asked():
    assert parse_amount("0", allow_zero=True) == 0
    with pytest.raises(ValidationFailed):
        parse_amount("-0.01", allow_zero=True)


@pytest.mark.parametrize("value", [1.5, True, "100", Decimal(1)])
def test_check_amount_refuses_anything_but_int_fen(value):
    with pytest.raises(ValidationFailed) as caught:
        check_amount(value)
    assert caught.value.code == "amount_invalid"


def test_check_amount_bounds():
    assert check_amount(1) == 1
    assert check_amount(0, allow_zero=True) == 0
    assert check_amount(10**13) == 10**13
    for value, code in [
        (0, "amount_not_positive"),
        (-1, "amount_not_positive"),
        (10**13 + 1, "amount_too_large"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            check_amount(value)
        assert caught.value.code == code


def test_format_and_to_major():
    assert format_money(123_450) == "¥1,234.50"
    assert format_money(-5) == "-¥0.05"
    assert format_money(100, "USD") == "USD 1.00"
    assert to_major(12_345) == Decimal("123.45")


@given(amount=st.integers(min_value=1, max_value=10**13))
def test_parse_amount_round_trips_format_money(amount):
    assert parse_amount(format_money(amount)) == amount


@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12),
)
def test_split_largest_remainder_never_loses_or_invents_a_fen(total, weights):
    parts = split_largest_remainder(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(weights) or len(weights)
    effective = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(parts, effective, strict=True):
        exact = Fraction(total * weight, weight_sum)
        assert abs(part - exact) < 1, (part, exact)
        assert part * total >= 0 or part == 0  # parts share the total's sign


def test_split_largest_remainder_gives_leftover_fen_to_largest_remainders_then_earliest():
    assert split_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert split_largest_remainder(-100, [1, 1, 1]) == [-34, -33, -33]
    assert split_largest_remainder(10, [1, 2]) == [3, 7]
    assert split_largest_remainder(5, [0, 0]) == [3, 2]
    assert split_largest_remainder(0, []) == []


def test_split_largest_remainder_refuses_impossible_splits():
    with pytest.raises(ValueError):
        split_largest_remainder(1, [])
    with pytest.raises(ValueError):
        split_largest_remainder(10, [1, -1])


@pytest.mark.parametrize(
    ("amount", "basis_points", "expected"),
    [
        (10_000, 1_000, 1_000),
        (1, 5_000, 1),  # half a fen rounds up
        (3, 5_000, 2),
        (99_999, 3_333, 33_330),
        (12_345, 0, 0),
        (12_345, 10_000, 12_345),
    ],
)
def test_percentage_of_rounds_half_up(amount, basis_points, expected):
    assert percentage_of(amount, basis_points) == expected


@given(
    amount=st.integers(min_value=0, max_value=10**12), basis_points=st.integers(min_value=0, max_value=10_000)
)
def test_percentage_of_is_the_exact_share_rounded_half_up(amount, basis_points):
    exact = Fraction(amount * basis_points, 10_000)
    result = percentage_of(amount, basis_points)
    assert isinstance(result, int)
    assert exact - Fraction(1, 2) < result <= exact + Fraction(1, 2)
