"""Money: ISO 4217 minor units and the one parser for amounts that cross the API.

Amounts are `Decimal` from the wire to DynamoDB and back; a float never holds
money. On the wire an amount is a decimal string such as "10.50".
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from cashier_core.errors import (
    AmountExponentNotAllowed,
    AmountInvalidFormat,
    AmountNegative,
    AmountNotAString,
    AmountNotFinite,
    AmountTooLarge,
    AmountTooPrecise,
    AmountZero,
    UnknownCurrency,
)


def _exponents(exponent: int, codes: str) -> dict[str, int]:
    return dict.fromkeys(codes.split(), exponent)


# ISO 4217 List One, active currencies and funds codes with a numeric minor
# unit (metals, XDR/XSU/XUA and test codes have none and are left out).
# Withdrawn codes are not accepted: ANG (-> XCG, 2025), BGN (-> EUR, 2026),
# CUC (2021), HRK (-> EUR, 2023), SLL (-> SLE), ZWL (-> ZWG, 2024).
# A small literal table rather than a package: the PyPI packages that carry
# minor units are unmaintained or pull CLDR data (which differs from ISO for
# e.g. IQD and ISK) into every Lambda's cold start.
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    **_exponents(
        0,
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    ),
    **_exponents(3, "BHD IQD JOD KWD LYD OMR TND"),
    **_exponents(4, "CLF UYW"),
    **_exponents(
        2,
        """
        AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD
        BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP
        DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF
        IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL
        MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR
        NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
        SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD
        USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG
        """,
    ),
}

# Far above any single payment, far below DynamoDB's 38 significant digits.
MAX_INTEGER_DIGITS: Final = 15
# Longest string worth looking at: 15 digits, a point, 4 decimals, a sign.
_MAX_AMOUNT_TEXT: Final = 32

_PLAIN_DECIMAL = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_EXPONENT_FORM = re.compile(r"[+-]?[0-9]*\.?[0-9]*[eE][+-]?[0-9]+")
_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})


def currency_exponent(currency: str) -> int:
    """Number of decimals ISO 4217 gives the currency."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency() from None


def validate_currency(currency: object) -> str:
    if not isinstance(currency, str) or currency not in CURRENCY_EXPONENTS:
        raise UnknownCurrency()
    return currency


def parse_amount(raw: object, currency: str) -> Decimal:
    """Parse an API amount string into a Decimal with the currency's scale.

    Refuses, each with its own code: non-strings (JSON numbers lose money to
    binary floats), NaN/Infinity, exponents, signs, zero, more decimals than
    the currency has, and more than MAX_INTEGER_DIGITS whole digits.
    """
    exponent = currency_exponent(currency)
    if not isinstance(raw, str):
        raise AmountNotAString()
    if len(raw) > _MAX_AMOUNT_TEXT:
        if raw.isdigit():
            raise AmountTooLarge()
        raise AmountInvalidFormat()
    if raw.lower().lstrip("+-") in _NOT_FINITE:
        raise AmountNotFinite()
    if _EXPONENT_FORM.fullmatch(raw):
        raise AmountExponentNotAllowed()
    match = _PLAIN_DECIMAL.fullmatch(raw)
    if match is None:
        raise AmountInvalidFormat()
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    value = Decimal(f"{whole}.{fraction}" if fraction else whole)
    if value == 0:
        # "-0" and "0.00" are zero, not negative: the customer asked for nothing.
        raise AmountZero()
    if sign:
        raise AmountNegative()
    if len(fraction) > exponent:
        raise AmountTooPrecise(f"{currency} allows at most {exponent} decimals.")
    if len(whole) > MAX_INTEGER_DIGITS:
        raise AmountTooLarge()
    return quantize(value, currency)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount at exactly the currency's scale; it must already fit it."""
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def format_amount(amount: Decimal, currency: str) -> str:
    """Wire form: fixed-point with exactly the currency's decimals."""
    return f"{quantize(amount, currency):f}"


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units, as most provider APIs take them (1050 for 10.50 USD)."""
    scaled = amount.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise AmountTooPrecise()
    return int(scaled)


def from_minor_units(minor: int, currency: str) -> Decimal:
    return quantize(Decimal(minor).scaleb(-currency_exponent(currency)), currency)
