"""A provider's own amount units: its table of exponents, checked both ways.

Our amounts are Decimals at ISO 4217's scale (money.py). A provider may count
a currency in other units (Stripe takes ISK in hundredths although the krona
has no minor unit; Adyen takes CLP in hundredths and IDR in whole rupiah), may
accept only some multiples of its unit (Stripe: ISK and UGX in whole units
only, three-decimal currencies in multiples of ten), and may not take a
currency at all (Stripe has no CLF). Each provider module declares its table
here; nothing converts with ISO's exponents for a provider.

Both directions are exact: an amount the provider would refuse or round is
refused before it is sent (AmountNotPayableAtProvider, never rounded), and an
amount the provider reports that is not exactly an amount of ours (a currency
it does not take, or fractions our currency does not have) converts to None,
which the lifecycle treats as a confirmation without our amount: review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from cashier_core.errors import AmountNotPayableAtProvider, UnknownCurrency
from cashier_core.money import currency_exponent, quantize

# Far above any payment (10^15 minor units), far below Decimal's default precision.
MAX_UNITS: Final = 10**15


@dataclass(frozen=True, slots=True)
class ProviderCurrencies:
    provider: str
    # The provider's own exponent of every currency it takes; absent: not taken.
    exponents: Mapping[str, int]
    # Currencies whose amounts must be a multiple of this many provider units.
    multiple_of: Mapping[str, int] = field(default_factory=dict)

    def takes(self, currency: str) -> bool:
        """Whether the provider takes `currency` and we can say its amounts."""
        if currency not in self.exponents:
            return False
        try:
            currency_exponent(currency)
        except UnknownCurrency:
            return False
        return True

    def to_units(self, amount: Decimal, currency: str) -> int:
        """`amount` in the provider's units; refused (never rounded) when the
        provider does not take the currency or would reject or round it."""
        if not self.takes(currency):
            raise AmountNotPayableAtProvider(f"{self.provider} does not take {currency}.")
        if not amount.is_finite() or amount <= 0:
            raise AmountNotPayableAtProvider()
        scaled = amount.scaleb(self.exponents[currency])
        if scaled != scaled.to_integral_value():
            raise AmountNotPayableAtProvider(
                f"{self.provider} cannot take {amount} {currency} at its precision."
            )
        units = int(scaled)
        step = self.multiple_of.get(currency, 1)
        if units % step:
            smallest = Decimal(step).scaleb(-self.exponents[currency])
            raise AmountNotPayableAtProvider(
                f"{self.provider} takes {currency} only in multiples of {smallest:f}."
            )
        return units

    def from_units(self, units: object, currency: object) -> Decimal | None:
        """What the provider's `units` of `currency` are in our amounts, or None
        when they are not exactly one (unknown or untaken currency, a
        non-integer, fractions our currency does not have)."""
        if isinstance(units, bool) or not isinstance(units, int) or not isinstance(currency, str):
            return None
        if abs(units) > MAX_UNITS:
            return None  # no payment is this large; never a reason to fail a webhook
        if not self.takes(currency):
            return None
        amount = Decimal(units).scaleb(-self.exponents[currency])
        ours = quantize(amount, currency) if _fits(amount, currency) else None
        return ours

    def refusal(self, currency: str, amount: Decimal | None = None) -> str | None:
        """Why this provider cannot take `amount` (or, without one, any amount)
        of `currency`; None when it can."""
        if not self.takes(currency):
            return f"{self.provider} does not take {currency}"
        if amount is None:
            return None
        try:
            self.to_units(amount, currency)
        except AmountNotPayableAtProvider as error:
            return error.message
        return None


def _fits(amount: Decimal, currency: str) -> bool:
    scaled = amount.scaleb(currency_exponent(currency))
    return scaled == scaled.to_integral_value()


def iso_currencies(provider: str, codes: str | None = None) -> ProviderCurrencies:
    """A provider that counts every currency (or the listed ones) as ISO does."""
    from cashier_core.money import CURRENCY_EXPONENTS

    names = codes.split() if codes is not None else list(CURRENCY_EXPONENTS)
    return ProviderCurrencies(provider, {code: CURRENCY_EXPONENTS[code] for code in names})
