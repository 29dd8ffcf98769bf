"""A currency or amount a provider cannot take exactly is refused before
anything is written or sent, through the real handlers against moto: the
method is not offered for a currency the module's own table lacks (Stripe has
no CLF), and an amount Stripe would reject or round (KWD 1.234: Stripe takes
thousandths ending in 0) answers amount_not_payable_at_provider."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.models import ProviderConfig, TradingAccount
from tests.support import builders
from tests.support.customer_api import CustomerApi

ALICE = "cus-alice"  # DE, brand-alpha


def stripe_account(api: CustomerApi, currency: str) -> str:
    account = TradingAccount(
        account_id=f"acc-alice-{currency.lower()}",
        customer_id=ALICE,
        brand_id="brand-alpha",
        currency=currency,
        balance=Decimal(0).scaleb(-{"CLF": 4, "KWD": 3}.get(currency, 0)),
    )
    api.aws.accounts().create(account, builders.T0)
    api.aws.provider_configs().put(
        ProviderConfig(
            brand_id="brand-alpha",
            provider="stripe",
            method_id=f"card-stripe-{currency.lower()}",
            display_name="Card",
            currencies=frozenset({currency}),
            settings={"mode": "test", "api_base": "https://api.stripe.com"},
            secret_ref="cashier/providers/brand-alpha/stripe",
        )
    )
    return account.account_id


def test_a_currency_stripe_does_not_take_is_never_offered(api: CustomerApi) -> None:
    account_id = stripe_account(api, "CLF")
    status, body = api.methods(ALICE, account_id, explain=True)
    assert status == 200, body
    assert "card-stripe-clf" not in [m["method_id"] for m in body["methods"]]
    excluded = {e["method_id"]: e["reason"] for e in body["excluded"]}
    assert excluded["card-stripe-clf"] == "currency_not_taken_by_provider"
    status, body = api.deposit(
        ALICE,
        {"account_id": account_id, "method_id": "card-stripe-clf", "amount": "1.0000", "currency": "CLF"},
    )  # fmt: skip
    assert (status, body["error"]["code"]) == (422, "method_not_available")
    assert "(currency_not_taken_by_provider)" in body["error"]["message"]
    assert api.transactions_of(ALICE) == []


def test_an_amount_stripe_would_round_is_refused_before_anything_is_written(
    api: CustomerApi,
) -> None:
    account_id = stripe_account(api, "KWD")
    deposit = {"account_id": account_id, "method_id": "card-stripe-kwd", "currency": "KWD"}
    status, body = api.deposit(ALICE, {**deposit, "amount": "1.234"})
    assert (status, body["error"]["code"]) == (422, "amount_not_payable_at_provider")
    assert "0.010" in body["error"]["message"]
    assert api.transactions_of(ALICE) == []
