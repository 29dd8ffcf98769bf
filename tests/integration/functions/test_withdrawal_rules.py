"""CreateCashierWithdrawal through its real handler, against moto and the default
seed: a named method passes the same eligibility rules as a deposit's and must
pay out; an Idempotency-Key is scoped by operation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cashier_core.clock import utc_now
from cashier_core.models import ProviderConfig, new_transaction
from cashier_core.request_ids import (
    transaction_id_for_request,
    unscoped_transaction_id_for_request,
)
from cashier_core.statuses import TransactionType
from tests.support.customer_api import CustomerApi

ALICE, CAROL = "cus-alice", "cus-carol"  # Alice: DE, USD account with 100.00
USD_WITHDRAWAL = {"account_id": "acc-alice-usd", "amount": "30.00", "currency": "USD"}
USD_DEPOSIT = {
    "account_id": "acc-alice-usd",
    "method_id": "card-sandbox",
    "amount": "25.00",
    "currency": "USD",
}


def payout_config(method_id: str, **overrides: Any) -> ProviderConfig:
    fields: dict[str, Any] = {
        "brand_id": "brand-alpha",
        "provider": "sandbox",
        "method_id": method_id,
        "display_name": f"Payout ({method_id})",
        "payouts": True,
        "currencies": frozenset({"USD"}),
    }
    return ProviderConfig(**(fields | overrides))


def balance(api: CustomerApi, account_id: str = "acc-alice-usd") -> Decimal:
    return api.aws.accounts().get(account_id).balance


# ------------------------------------------------- eligibility (defect 5) ---
@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (payout_config("payout-disabled", enabled=False), "method_disabled"),
        (
            payout_config("payout-blocked-in-de", countries_blocked=frozenset({"DE"})),
            "country_blocked",
        ),
        (
            payout_config("payout-nl-only", countries_allowed=frozenset({"NL"})),
            "country_not_allowed",
        ),
        (payout_config("payout-eur-only", currencies=frozenset({"EUR"})), "currency_unsupported"),
        (payout_config("payin-only", payouts=False), "payouts_unsupported"),
        (payout_config("payout-unloaded", provider="not_loaded"), "module_not_loaded"),
    ],
)
def test_a_withdrawal_to_an_ineligible_method_is_refused_and_holds_nothing(
    api: CustomerApi, config: ProviderConfig, reason: str
) -> None:
    api.aws.provider_configs().put(config)
    status, body = api.withdraw(ALICE, {**USD_WITHDRAWAL, "method_id": config.method_id})
    assert (status, body["error"]["code"]) == (422, "method_not_available")
    assert f"({reason})" in body["error"]["message"]
    assert api.transactions_of(ALICE) == []
    assert balance(api) == Decimal("100.00")


def test_a_seeded_card_that_does_not_pay_out_is_refused_for_a_withdrawal_but_not_a_deposit(
    api: CustomerApi,
) -> None:
    status, body = api.withdraw(ALICE, {**USD_WITHDRAWAL, "method_id": "card-stripe"})
    assert (status, body["error"]["code"]) == (422, "method_not_available")
    assert "(payouts_unsupported)" in body["error"]["message"]
    _, methods = api.methods(ALICE, "acc-alice-usd", explain=True)
    assert "card-stripe" in [m["method_id"] for m in methods["methods"]]
    assert "payouts_unsupported" not in [e["reason"] for e in methods["excluded"]]


def test_a_crm_disabled_method_is_refused_for_a_withdrawal(api: CustomerApi) -> None:
    api.aws.provider_configs().put(
        payout_config(
            "card-adyen-payouts",
            provider="adyen",
            currencies=frozenset({"EUR"}),
            settings={"live": "false", "merchant_account": "AlphaMarketsECOM"},
        )
    )
    carol = api.aws.customers().get(CAROL)
    api.aws.customers().put(
        carol.model_copy(
            update={
                "crm_overrides": carol.crm_overrides.model_copy(
                    update={"disabled_methods": frozenset({"card-adyen-payouts"})}
                )
            }
        )
    )
    status, body = api.withdraw(
        CAROL,
        {
            "account_id": "acc-carol-eur",
            "amount": "30.00",
            "currency": "EUR",
            "method_id": "card-adyen-payouts",
        },
    )
    assert (status, body["error"]["code"]) == (422, "method_not_available")
    assert "(disabled_by_crm)" in body["error"]["message"]
    assert balance(api, "acc-carol-eur") == Decimal("250.00")


def test_a_withdrawal_to_an_eligible_payout_method_is_held_with_its_provider(
    api: CustomerApi,
) -> None:
    status, body = api.withdraw(ALICE, {**USD_WITHDRAWAL, "method_id": "card-sandbox"})
    assert status == 201, body
    assert (body["transaction"]["method_id"], body["transaction"]["provider"]) == (
        "card-sandbox",
        "sandbox",
    )
    assert balance(api) == Decimal("70.00")


def test_crm_force_enable_readmits_a_disabled_payout_method_as_for_a_deposit(
    api: CustomerApi,
) -> None:
    # wire-eur is disabled for the brand; Carol's CRM overrides force-enable it.
    status, body = api.withdraw(
        CAROL,
        {
            "account_id": "acc-carol-eur",
            "amount": "50.00",
            "currency": "EUR",
            "method_id": "wire-eur",
        },
    )
    assert status == 201, body
    assert body["transaction"]["provider"] == "bank_wire"
    assert balance(api, "acc-carol-eur") == Decimal("200.00")


# ------------------------------------------ Idempotency-Key scope (defect 6) ---
@pytest.mark.parametrize("first", ["deposit", "withdrawal"])
def test_one_idempotency_key_for_a_deposit_and_a_withdrawal_makes_two_transactions(
    api: CustomerApi, first: str
) -> None:
    # In tests both handlers' Powertools records share one function-name prefix
    # (no AWS_LAMBDA_FUNCTION_NAME), so only the operation in the record key
    # keeps the two apart there, as the transaction id's scope does here.
    key = "shared-key-0001"
    calls = {
        "deposit": lambda: api.deposit(ALICE, USD_DEPOSIT, key=key),
        "withdrawal": lambda: api.withdraw(ALICE, USD_WITHDRAWAL, key=key),
    }
    second = "withdrawal" if first == "deposit" else "deposit"
    first_reply = calls[first]()
    second_reply = calls[second]()
    assert (first_reply[0], second_reply[0]) == (201, 201), (first_reply, second_reply)
    ids = {
        name: got[1]["transaction"]["transaction_id"]
        for name, got in ((first, first_reply), (second, second_reply))
    }
    assert ids["deposit"] != ids["withdrawal"]
    assert {t.transaction_id: t.type for t in api.transactions_of(ALICE)} == {
        ids["deposit"]: TransactionType.DEPOSIT,
        ids["withdrawal"]: TransactionType.WITHDRAWAL,
    }
    # Each retry replays its own operation's answer.
    assert calls["deposit"]() == (first_reply if first == "deposit" else second_reply)
    assert calls["withdrawal"]() == (first_reply if first == "withdrawal" else second_reply)
    assert balance(api) == Decimal("70.00")


def test_a_deposits_id_is_derived_exactly_as_before_the_scope() -> None:
    # Rows already written, and retries in flight across the deploy, keep their id.
    assert (
        transaction_id_for_request(TransactionType.DEPOSIT, "cus-alice", "crash-retry-0001")
        == unscoped_transaction_id_for_request("cus-alice", "crash-retry-0001")
        == "4c6eb0d5-ce61-5374-9e4f-11a32dcf4a35"  # uuid5 of the fixed namespace
    )
    assert transaction_id_for_request(
        TransactionType.WITHDRAWAL, "cus-alice", "crash-retry-0001"
    ) != unscoped_transaction_id_for_request("cus-alice", "crash-retry-0001")


def held_before_the_scope(api: CustomerApi, key: str, amount: str) -> str:
    """A withdrawal written as it was before ids were scoped by operation."""
    earlier = new_transaction(
        transaction_id=unscoped_transaction_id_for_request(ALICE, key),
        transaction_type=TransactionType.WITHDRAWAL,
        customer_id=ALICE,
        account_id="acc-alice-usd",
        brand_id="brand-alpha",
        amount=Decimal(amount),
        currency="USD",
        source="customer",
        reason="withdrawal requested; funds held for BackOffice",
        at=utc_now(),
    )
    return api.aws.transactions().open_withdrawal(earlier).transaction_id


def test_a_withdrawal_held_before_the_scope_is_found_by_its_retry_not_held_twice(
    api: CustomerApi,
) -> None:
    earlier = held_before_the_scope(api, "before-scope-0001", "30.00")
    assert balance(api) == Decimal("70.00")

    status, body = api.withdraw(ALICE, USD_WITHDRAWAL, key="before-scope-0001")
    assert status == 201, body
    assert body["transaction"]["transaction_id"] == earlier
    assert balance(api) == Decimal("70.00")
    assert len(api.transactions_of(ALICE)) == 1


def test_another_request_under_a_key_used_before_the_scope_is_refused(api: CustomerApi) -> None:
    held_before_the_scope(api, "before-scope-0002", "31.00")
    status, body = api.withdraw(ALICE, USD_WITHDRAWAL, key="before-scope-0002")
    assert (status, body["error"]["code"]) == (422, "idempotency_key_reused")
    assert balance(api) == Decimal("69.00")
    assert len(api.transactions_of(ALICE)) == 1


def test_a_deposit_held_under_the_unscoped_id_does_not_stand_for_a_withdrawal(
    api: CustomerApi,
) -> None:
    # A deposit's id is the unscoped one: the withdrawal with its key is new.
    deposit = api.deposit(ALICE, USD_DEPOSIT, key="before-scope-0003")[1]
    assert deposit["transaction"]["transaction_id"] == unscoped_transaction_id_for_request(
        ALICE, "before-scope-0003"
    )
    status, body = api.withdraw(ALICE, USD_WITHDRAWAL, key="before-scope-0003")
    assert status == 201, body
    assert body["transaction"]["type"] == "withdrawal"
    assert balance(api) == Decimal("70.00")
