"""Shared steps of the withdrawal tests (real handlers against moto)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cashier_core.models import Transaction
from cashier_core.statuses import Status
from cashier_core.storage.records import BrandStore
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle

ALICE = "cus-alice"
BOB_OPS = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-bob"
CAROL_OPS = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-carol"


def set_brand(api: CustomerApi, brand_id: str = "brand-alpha", **update: Any) -> None:
    brands = BrandStore(api.aws.dynamodb, api.aws.tables.brands)
    brand = brands.get(brand_id)
    assert brand is not None
    brands.put(brand.model_copy(update=update))


def balance(api: CustomerApi, account_id: str = "acc-alice-usd") -> Decimal:
    return api.aws.accounts().get(account_id).balance


def ledger_sum(api: CustomerApi, account_id: str = "acc-alice-usd") -> Decimal:
    return sum((e.amount for e in api.aws.accounts().ledger(account_id)), Decimal(0))


def credited(lifecycle: Lifecycle, amount: str, **body: str) -> Transaction:
    deposit = lifecycle.deposit(amount=amount, **body)
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    lifecycle.drain()
    done = lifecycle.transaction(deposit.transaction_id)
    assert done.status is Status.CREDITED
    return done


def withdraw(
    api: CustomerApi, amount: str, account_id: str = "acc-alice-usd", currency: str = "USD"
) -> str:
    body = {
        "account_id": account_id,
        "amount": amount,
        "currency": currency,
        "payout_details": {"iban": "DE89370400440532013000"},
    }
    status, reply = api.withdraw(ALICE, body)
    assert status == 201, reply
    return str(reply["transaction"]["transaction_id"])


def approve(
    backoffice: BackOffice,
    transaction_id: str,
    *,
    principal: str = OPERATOR,
    route: dict[str, str] | None = None,
    reference: str = "PO-1",
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"payout_reference": reference, "note": "checked"}
    if route is not None:
        body["route"] = route
    return backoffice.call(
        "BackOfficeApproveWithdrawalFunction",
        path_id=transaction_id,
        body=body,
        principal=principal,
    )


# Alice's seeded USD balance.
START = Decimal("100.00")


def sandbox_reports(lifecycle: Lifecycle, deposit_id: str, status: str, amount: str) -> int:
    """The sandbox provider reports `status` with `amount` for the deposit as stored now."""
    deposit = lifecycle.transaction(deposit_id)
    return lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, status, amount=amount))[0]


def approved_with_route(
    api: CustomerApi, backoffice: BackOffice, amount: str, route: dict[str, str]
) -> str:
    """A withdrawal of `amount`, approved (one approver) with `route`."""
    withdrawal = withdraw(api, amount)
    status, body = approve(backoffice, withdrawal, route=route)
    assert status == 200, body
    return withdrawal
