"""Return to source: one deposit's money can be routed back only once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cashier_core.statuses import Status
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import approve, credited, withdraw


def test_two_approvals_racing_cannot_both_return_the_whole_of_one_deposit(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """W2's approval commits between W1's route check and W1's write: both
    route the card deposit's full 30.00 back, 60.00 refunded to a 30.00 card."""
    deposit = credited(lifecycle, "30.00")
    first, second = withdraw(api, "30.00"), withdraw(api, "30.00")
    route = {deposit.transaction_id: "30.00"}
    client = api.module("BackOfficeApproveWithdrawalFunction").cashier.transactions._client
    raced: list[tuple[int, dict[str, Any]]] = []

    def hook(**_: object) -> None:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
        raced.append(approve(backoffice, second, route=route, reference="PO-2"))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", hook)
    status, body = approve(backoffice, first, route=route)
    assert raced[0][0] == 200, raced
    returned = Decimal(0)
    for transaction_id in (first, second):
        current = api.aws.transactions().get(transaction_id)
        if current.status is Status.PROVIDER_CONFIRMED and current.payout_route:
            returned += Decimal(current.payout_route.get(deposit.transaction_id, "0"))
    assert returned <= Decimal("30.00"), (
        f"{returned} routed back to a 30.00 deposit; first approval answered {status} {body}"
    )


def test_the_view_never_shows_more_returnable_than_deposited_after_the_race(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Sequential control: the second approval sees the first's route (holds)."""
    deposit = credited(lifecycle, "30.00")
    first, second = withdraw(api, "30.00"), withdraw(api, "30.00")
    route = {deposit.transaction_id: "30.00"}
    assert approve(backoffice, first, route=route)[0] == 200
    status, body = approve(backoffice, second, route=route)
    assert (status, body["error"]["code"]) == (422, "payout_route_invalid")


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-5.00", "-0", "NaN", "sNaN", "Infinity", "1e1", "30.001", " 5.00"]
)
def test_a_route_amount_that_is_not_a_positive_amount_is_refused(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice, amount: str
) -> None:
    deposit = credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "10.00")
    route = {deposit.transaction_id: amount, "withdrawal_method": "10.00"}
    status, body = approve(backoffice, withdrawal, route=route)
    assert 400 <= status < 500, body
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW


def test_a_route_to_the_same_customers_deposit_on_another_account_is_refused(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    other = lifecycle.deposit(account_id="acc-alice-eur", currency="EUR", amount="30.00")
    withdrawal = withdraw(api, "10.00")
    status, body = approve(backoffice, withdrawal, route={other.transaction_id: "10.00"})
    assert (status, body["error"]["code"]) == (422, "payout_route_invalid")


def test_a_route_naming_the_withdrawal_itself_is_refused(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "10.00")
    status, body = approve(backoffice, withdrawal, route={withdrawal: "10.00"})
    assert (status, body["error"]["code"]) == (422, "payout_route_invalid")
