"""GetCashierMethods with direction=withdrawal, and a withdrawal naming a method,
through the real handlers against moto and the default seed: the same
eligibility rules, only methods that pay out, and each method's own
withdrawal limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cashier_core.models import AmountLimits, ProviderConfig
from tests.support.customer_api import CustomerApi

ALICE, ERIN, BOB = "cus-alice", "cus-erin", "cus-bob"


def methods(
    api: CustomerApi, customer: str, account: str, *extra: tuple[str, str]
) -> tuple[int, dict[str, Any]]:
    query = [("account_id", account), ("direction", "withdrawal"), *extra]
    return api.call("GetCashierMethodsFunction", customer, query=query)


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["method_id"]: m for m in body["methods"]}


def test_only_methods_that_pay_out_are_listed_with_their_reasons(api: CustomerApi) -> None:
    status, body = methods(api, ALICE, "acc-alice-usd", ("explain", "true"))
    assert status == 200, body
    assert (body["direction"], body["withdrawal_allowed"]) == ("withdrawal", True)
    assert list(by_id(body)) == ["card-sandbox"]
    assert by_id(body)["card-sandbox"]["pays_out"] is True
    excluded = {e["method_id"]: e["reason"] for e in body["excluded"]}
    # Stripe and Adyen cards take money in only; the EUR wire cannot serve a USD account.
    assert excluded["card-stripe"] == "payouts_unsupported"
    assert excluded["card-adyen"] == "payouts_unsupported"
    assert excluded["wire-eur"] == "currency_unsupported"


def test_the_deposit_list_is_unchanged_and_says_which_methods_pay_out(api: CustomerApi) -> None:
    status, body = api.methods(ALICE, "acc-alice-usd")
    assert status == 200, body
    assert body["direction"] == "deposit"
    shown = by_id(body)
    assert {"card-sandbox", "card-stripe", "card-adyen"} <= set(shown)
    assert (shown["card-sandbox"]["pays_out"], shown["card-stripe"]["pays_out"]) == (True, False)
    # A deposit's limits, not a withdrawal's.
    assert (shown["card-sandbox"]["min_amount"], shown["card-sandbox"]["max_amount"]) == (
        "10.00",
        "5000.00",
    )


def test_a_customer_whose_withdrawals_are_barred_gets_an_empty_list(api: CustomerApi) -> None:
    status, body = methods(api, ERIN, "acc-erin-usd")
    assert status == 200, body
    assert (body["withdrawal_allowed"], body["methods"]) == (False, [])


def test_deposits_barred_do_not_bar_the_withdrawal_list(api: CustomerApi) -> None:
    status, body = methods(api, BOB, "acc-bob-usd")
    assert status == 200, body
    assert (body["deposit_allowed"], body["withdrawal_allowed"]) == (False, True)
    assert "card-sandbox" in by_id(body)


def test_another_customers_account_answers_as_a_missing_one(api: CustomerApi) -> None:
    foreign = methods(api, "cus-mallory", "acc-alice-usd")
    missing = methods(api, "cus-mallory", "acc-no-such-account")
    assert foreign == missing
    assert (foreign[0], foreign[1]["error"]["code"]) == (404, "account_not_found")


def test_an_unknown_direction_is_refused(api: CustomerApi) -> None:
    status, body = api.call(
        "GetCashierMethodsFunction",
        ALICE,
        query=[("account_id", "acc-alice-usd"), ("direction", "sideways")],
    )
    assert (status, body["error"]["code"]) == (422, "validation_error")


@pytest.fixture
def limited(api: CustomerApi) -> ProviderConfig:
    config = ProviderConfig(
        brand_id="brand-alpha",
        provider="sandbox",
        method_id="payout-limited",
        display_name="Payout (limited)",
        payouts=True,
        currencies=frozenset({"USD"}),
        limits={"USD": AmountLimits(min_amount=Decimal("1.00"))},
        withdrawal_limits={
            "USD": AmountLimits(min_amount=Decimal("20.00"), max_amount=Decimal("40.00"))
        },
    )
    api.aws.provider_configs().put(config)
    return config


def test_the_withdrawal_list_shows_the_methods_withdrawal_limits(
    api: CustomerApi, limited: ProviderConfig
) -> None:
    status, body = methods(api, ALICE, "acc-alice-usd")
    assert status == 200, body
    shown = by_id(body)[limited.method_id]
    assert (shown["min_amount"], shown["max_amount"]) == ("20.00", "40.00")
    _, deposit_list = api.methods(ALICE, "acc-alice-usd")
    assert by_id(deposit_list)[limited.method_id]["min_amount"] == "1.00"


@pytest.mark.parametrize(
    ("amount", "answer"),
    [
        ("19.99", (422, "amount_below_minimum")),
        ("40.01", (422, "amount_above_maximum")),
        ("20.00", (201, None)),
        ("40.00", (201, None)),
    ],
)
def test_a_withdrawal_naming_a_method_keeps_to_its_withdrawal_limits(
    api: CustomerApi, limited: ProviderConfig, amount: str, answer: tuple[int, str | None]
) -> None:
    body = {"account_id": "acc-alice-usd", "amount": amount, "currency": "USD"}
    status, reply = api.withdraw(ALICE, {**body, "method_id": limited.method_id})
    code = reply["error"]["code"] if status >= 400 else None
    assert (status, code) == answer, reply
    held = Decimal(amount) if status == 201 else Decimal(0)
    assert api.aws.accounts().get("acc-alice-usd").balance == Decimal("100.00") - held


def test_withdrawal_limits_are_for_methods_that_pay_out() -> None:
    with pytest.raises(ValueError, match="does not pay out"):
        ProviderConfig(
            brand_id="brand-alpha",
            provider="sandbox",
            method_id="payin-only",
            display_name="Pay-in only",
            currencies=frozenset({"USD"}),
            withdrawal_limits={"USD": AmountLimits(max_amount=Decimal("10.00"))},
        )
