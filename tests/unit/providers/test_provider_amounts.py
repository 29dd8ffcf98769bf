"""Each provider's own units, both ways: Stripe's special cases and Adyen's
currency table, never ISO's where they differ (provider_amounts.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.errors import AmountNotPayableAtProvider
from cashier_core.money import CURRENCY_EXPONENTS, quantize
from cashier_core.provider_amounts import ProviderCurrencies
from cashier_providers.adyen import ADYEN_CURRENCIES
from cashier_providers.stripe import STRIPE_CURRENCIES

D = Decimal


@pytest.mark.parametrize(
    ("currency", "ours", "stripes"),
    [
        ("ISK", D("5000"), 500000),  # "to charge 5 ISK, provide an amount value of 500"
        ("UGX", D("5000"), 500000),  # the same special case
        ("HUF", D("1234.56"), 123456),  # two decimals for charges (payouts only are whole)
        ("TWD", D("99.99"), 9999),
        ("JPY", D("1500"), 1500),  # zero-decimal
        ("KWD", D("1.230"), 1230),  # three-decimal, last digit 0
        ("USD", D("25.00"), 2500),
    ],
)
def test_stripe_units_both_ways(currency: str, ours: Decimal, stripes: int) -> None:
    assert STRIPE_CURRENCIES.to_units(ours, currency) == stripes
    assert STRIPE_CURRENCIES.from_units(stripes, currency) == ours


@pytest.mark.parametrize(
    ("currency", "ours", "adyens"),
    [
        ("ISK", D("5000"), 500000),  # Adyen: 2 decimals (ISO: 0)
        ("UGX", D("5000"), 5000),
        ("HUF", D("1234.56"), 123456),
        ("TWD", D("99.99"), 9999),
        ("JPY", D("1500"), 1500),
        ("KWD", D("1.234"), 1234),  # Adyen takes every thousandth
        ("CLP", D("990"), 99000),  # Adyen: 2 decimals (ISO: 0)
        ("IDR", D("15000.00"), 15000),  # Adyen: 0 decimals (ISO: 2)
        ("CVE", D("100.00"), 100),  # Adyen: 0 decimals (ISO: 2)
    ],
)
def test_adyen_units_both_ways(currency: str, ours: Decimal, adyens: int) -> None:
    assert ADYEN_CURRENCIES.to_units(ours, currency) == adyens
    assert ADYEN_CURRENCIES.from_units(adyens, currency) == ours


@pytest.mark.parametrize(
    ("table", "currency", "amount"),
    [
        (STRIPE_CURRENCIES, "KWD", D("1.234")),  # Stripe would need 1.230 or 1.240
        (STRIPE_CURRENCIES, "CLF", D("1.0000")),  # Stripe has no CLF
        (ADYEN_CURRENCIES, "CLF", D("1.0000")),  # nor does Adyen's table
        (ADYEN_CURRENCIES, "IDR", D("15000.50")),  # Adyen counts whole rupiah
        (STRIPE_CURRENCIES, "MGA", D("100.50")),  # zero-decimal at Stripe
    ],
)
def test_amounts_a_provider_would_reject_or_round_are_refused(
    table: ProviderCurrencies, currency: str, amount: Decimal
) -> None:
    with pytest.raises(AmountNotPayableAtProvider):
        table.to_units(amount, currency)
    assert table.refusal(currency, amount) is not None


def test_a_currency_the_provider_does_not_take_is_refused_without_an_amount() -> None:
    assert STRIPE_CURRENCIES.refusal("CLF") == "Stripe does not take CLF"
    assert not STRIPE_CURRENCIES.takes("CLF")
    assert ADYEN_CURRENCIES.refusal("UYW") is not None
    assert STRIPE_CURRENCIES.refusal("ISK") is None


@pytest.mark.parametrize(
    ("table", "units", "currency"),
    [
        (STRIPE_CURRENCIES, 500050, "ISK"),  # half a krona: no amount of ours
        (STRIPE_CURRENCIES, 1000, "CLF"),  # a currency Stripe does not take
        (ADYEN_CURRENCIES, 99050, "CLP"),  # half a peso
        (ADYEN_CURRENCIES, "1000", "EUR"),  # not an integer
        (ADYEN_CURRENCIES, True, "EUR"),
        (ADYEN_CURRENCIES, 1000, {"code": "EUR"}),
        (ADYEN_CURRENCIES, 1000, "XXX"),
    ],
)
def test_reported_amounts_that_are_no_amount_of_ours_read_as_none(
    table: ProviderCurrencies, units: object, currency: object
) -> None:
    assert table.from_units(units, currency) is None


@pytest.mark.parametrize("table", [STRIPE_CURRENCIES, ADYEN_CURRENCIES])
@given(data=st.data())
def test_every_payable_amount_comes_back_as_itself(
    table: ProviderCurrencies, data: st.DataObject
) -> None:
    currency = data.draw(st.sampled_from(sorted(table.exponents)))
    minor = data.draw(st.integers(min_value=1, max_value=10**12))
    amount = quantize(D(minor).scaleb(-CURRENCY_EXPONENTS[currency]), currency)
    if table.refusal(currency, amount) is not None:
        return  # refused before sending: nothing to read back
    assert table.from_units(table.to_units(amount, currency), currency) == amount


def test_every_provider_exponent_is_for_a_currency_we_know() -> None:
    for table in (STRIPE_CURRENCIES, ADYEN_CURRENCIES):
        assert set(table.exponents) <= set(CURRENCY_EXPONENTS)
