"""The sandbox page's card checks and where it sends the customer afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from cashier_core.models import BrandSettings
from cashier_core.statuses import Status
from cashier_local.sandbox_page import (
    DECLINED,
    NEEDS_3DS,
    SUCCEEDS,
    SandboxPage,
    _check_card,
    _luhn_valid,
    resolves_locally,
)
from tests.support.builders import account, transaction

FORM = {"expiry": "12/34", "cvc": "123"}
BRAND = BrandSettings(
    brand_id="brand-alpha", display_name="Alpha", return_url_hosts=frozenset({"alpha.example"})
)


@pytest.mark.parametrize("number", [SUCCEEDS, DECLINED, NEEDS_3DS, "5555555555554444"])
def test_the_test_cards_pass_the_luhn_check(number: str) -> None:
    assert _luhn_valid(number)


def test_a_changed_digit_fails_the_luhn_check() -> None:
    assert not _luhn_valid(SUCCEEDS[:-1] + "1")


@pytest.mark.parametrize("typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", SUCCEEDS])
def test_spaces_and_dashes_in_a_card_number_are_ignored(typed: str) -> None:
    assert _check_card({"card_number": typed, **FORM}) == (SUCCEEDS, "")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"card_number": "\uff14\uff12" * 8},
            "Your card number is incomplete.",
        ),  # fullwidth digits
        ({"card_number": ""}, "Your card number is incomplete."),
        ({"expiry": "1234"}, "Your card's expiry date is incomplete (MM / YY)."),
        ({"expiry": "00/34"}, "Your card's expiry date is incomplete (MM / YY)."),
        ({"expiry": "12/2001"}, "Your card's expiry date is in the past."),
        ({"cvc": "12a"}, "Your card's security code is incomplete."),
    ],
)
def test_what_the_form_refuses(fields: dict[str, str], error: str) -> None:
    assert _check_card({"card_number": SUCCEEDS, **FORM, **fields})[1] == error


def page(resolves: bool) -> SandboxPage:
    store: Any = None  # _after reads no transaction from storage
    return SandboxPage(store, lambda _: "secret", "http://127.0.0.1:3000", {"brand-alpha": BRAND},
                       resolves=lambda _host: resolves)  # fmt: skip


def test_after_paying_the_customer_goes_to_a_return_url_this_machine_can_reach() -> None:
    paid = transaction(account(), status=Status.PENDING_PAYMENT, provider_reference="sbx_1")
    assert page(True)._after(paid, "https://alpha.example/r") == "https://alpha.example/r"
    local = page(False)._after(paid, "https://alpha.example/r")
    assert local.startswith("/_sandbox/return/sbx_1?transaction_id=")
    assert local.endswith("&return_url=https%3A%2F%2Falpha.example%2Fr")
    assert page(True)._after(paid, None).startswith("/_sandbox/return/sbx_1?")


def test_loopback_resolves_and_a_reserved_example_name_does_not() -> None:
    assert resolves_locally("localhost")
    assert not resolves_locally("alpha.example")
    assert not resolves_locally("")
