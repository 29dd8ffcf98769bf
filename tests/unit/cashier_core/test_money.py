"""Amount parsing and ISO 4217 minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core import errors
from cashier_core.money import (
    CURRENCY_EXPONENTS,
    MAX_INTEGER_DIGITS,
    currency_exponent,
    format_amount,
    from_minor_units,
    parse_amount,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("USD", 2), ("EUR", 2), ("GBP", 2),
        ("JPY", 0), ("KRW", 0), ("CLP", 0), ("VND", 0), ("ISK", 0),
        ("BHD", 3), ("KWD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("IQD", 3), ("LYD", 3),
        ("CLF", 4), ("UYW", 4),
    ],
)  # fmt: skip
def test_minor_units_follow_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_table_covers_the_active_iso_list() -> None:
    assert len(CURRENCY_EXPONENTS) >= 150
    assert set(CURRENCY_EXPONENTS.values()) == {0, 2, 3, 4}
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_EXPONENTS)


@pytest.mark.parametrize("withdrawn", ["ANG", "BGN", "CUC", "HRK", "SLL", "ZWL", "XAU", "XXX"])
def test_withdrawn_and_non_money_codes_are_unknown(withdrawn: str) -> None:
    with pytest.raises(errors.UnknownCurrency):
        parse_amount("1", withdrawn)


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("10", "USD", Decimal("10.00")),
        ("10.5", "USD", Decimal("10.50")),
        ("0.01", "USD", Decimal("0.01")),
        ("1500", "JPY", Decimal("1500")),
        ("1.234", "BHD", Decimal("1.234")),
        ("0.0001", "CLF", Decimal("0.0001")),
        ("999999999999999.99", "USD", Decimal("999999999999999.99")),
    ],
)
def test_plain_decimal_strings_are_accepted_at_the_currency_scale(
    raw: str, currency: str, expected: Decimal
) -> None:
    parsed = parse_amount(raw, currency)
    assert parsed == expected
    assert parsed.as_tuple().exponent == -currency_exponent(currency)


@pytest.mark.parametrize(
    ("raw", "currency", "error"),
    [
        ("NaN", "USD", errors.AmountNotFinite),
        ("nan", "USD", errors.AmountNotFinite),
        ("sNaN", "USD", errors.AmountNotFinite),
        ("Infinity", "USD", errors.AmountNotFinite),
        ("-inf", "USD", errors.AmountNotFinite),
        ("1e3", "USD", errors.AmountExponentNotAllowed),
        ("1E-2", "USD", errors.AmountExponentNotAllowed),
        ("2.5e1", "USD", errors.AmountExponentNotAllowed),
        ("-5", "USD", errors.AmountNegative),
        ("-0.01", "USD", errors.AmountNegative),
        ("0", "USD", errors.AmountZero),
        ("0.00", "USD", errors.AmountZero),
        ("-0", "USD", errors.AmountZero),
        ("10.001", "USD", errors.AmountTooPrecise),
        ("10.500", "USD", errors.AmountTooPrecise),
        ("1.5", "JPY", errors.AmountTooPrecise),
        ("1.0", "JPY", errors.AmountTooPrecise),
        ("1.2345", "KWD", errors.AmountTooPrecise),
        ("1" + "0" * 30, "USD", errors.AmountTooLarge),
        ("1" + "0" * MAX_INTEGER_DIGITS, "USD", errors.AmountTooLarge),
        ("+5", "USD", errors.AmountInvalidFormat),
        (" 5", "USD", errors.AmountInvalidFormat),
        ("5 ", "USD", errors.AmountInvalidFormat),
        ("05", "USD", errors.AmountInvalidFormat),
        ("5.", "USD", errors.AmountInvalidFormat),
        (".5", "USD", errors.AmountInvalidFormat),
        ("1,000.00", "USD", errors.AmountInvalidFormat),
        ("0x10", "USD", errors.AmountInvalidFormat),
        ("", "USD", errors.AmountInvalidFormat),
        ("١٢", "USD", errors.AmountInvalidFormat),  # non-ASCII digits
        ("1" * 40 + "x", "USD", errors.AmountInvalidFormat),
        (10.5, "USD", errors.AmountNotAString),
        (10, "USD", errors.AmountNotAString),
        (True, "USD", errors.AmountNotAString),
        (None, "USD", errors.AmountNotAString),
        ("10", "usd", errors.UnknownCurrency),
        ("10", "XYZ", errors.UnknownCurrency),
    ],
)
def test_each_bad_amount_has_its_own_stable_code(
    raw: object, currency: str, error: type[errors.CashierError]
) -> None:
    with pytest.raises(error) as raised:
        parse_amount(raw, currency)
    assert raised.value.code == error.code
    assert raised.value.http_status == 422


def test_error_codes_are_unique() -> None:
    def all_subclasses(cls: type) -> set[type]:
        return set(cls.__subclasses__()).union(*(all_subclasses(s) for s in cls.__subclasses__()))

    concrete = [cls for cls in all_subclasses(errors.CashierError) if "code" in vars(cls)]
    codes = [cls.code for cls in concrete]
    assert len(codes) == len(set(codes))


currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))


@st.composite
def valid_amounts(draw: st.DrawFn) -> tuple[str, str, Decimal]:
    currency = draw(currencies)
    exponent = CURRENCY_EXPONENTS[currency]
    minor = draw(st.integers(min_value=1, max_value=10 ** (MAX_INTEGER_DIGITS + exponent) - 1))
    value = Decimal(minor).scaleb(-exponent)
    return currency, format_amount(value, currency), value


@given(valid_amounts())
def test_formatting_then_parsing_gives_the_same_amount(case: tuple[str, str, Decimal]) -> None:
    currency, text, value = case
    assert parse_amount(text, currency) == value
    assert format_amount(parse_amount(text, currency), currency) == text


@given(valid_amounts())
def test_minor_units_round_trip(case: tuple[str, str, Decimal]) -> None:
    currency, _, value = case
    assert from_minor_units(to_minor_units(value, currency), currency) == value


@given(st.one_of(st.text(max_size=60), st.floats(), st.integers(), st.none()), currencies)
def test_any_input_is_an_amount_or_a_domain_error(raw: object, currency: str) -> None:
    try:
        parsed = parse_amount(raw, currency)
    except errors.CashierError as error:
        assert error.http_status == 422
    else:
        assert isinstance(parsed, Decimal)
        assert parsed > 0
        assert parsed.is_finite()
