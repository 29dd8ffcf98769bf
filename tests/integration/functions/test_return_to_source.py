"""Return to source through the real BackOffice handlers against moto: the
withdrawal view shows the customer's deposits on that account by method and
provider with a suggested split, and approving records the chosen route."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cashier_core.statuses import Status
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import ALICE, credited, withdraw


def approve(
    backoffice: BackOffice, transaction_id: str, route: dict[str, str] | None
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"payout_reference": "PO-RTS"}
    if route is not None:
        body["route"] = route
    return backoffice.call("BackOfficeApproveWithdrawalFunction", path_id=transaction_id, body=body)


def test_the_view_suggests_refunds_to_card_deposits_newest_first_then_the_rest(
    lifecycle: Lifecycle, backoffice: BackOffice, api: CustomerApi
) -> None:
    older = credited(lifecycle, "20.00")
    newer = credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "60.00")  # 150.00 on the account after the deposits

    status, view = backoffice.withdrawal(withdrawal)
    assert status == 200, view
    assert view["transaction"]["payout_details"] == {"iban": "DE89370400440532013000"}
    assert view["return_to_source_providers"] == ["adyen", "sandbox", "stripe"]
    assert view["deposits_by_method"] == [
        {"method_id": "card-sandbox", "provider": "sandbox", "deposited": "50.00",
         "reversed": "0.00", "returned": "0.00", "net": "50.00"},
    ]  # fmt: skip
    assert [d["transaction_id"] for d in view["deposits"]] == [
        newer.transaction_id,
        older.transaction_id,
    ]
    assert view["suggestion"]["route"] == {
        newer.transaction_id: "30.00",
        older.transaction_id: "20.00",
        "withdrawal_method": "10.00",
    }
    assert view["suggestion"]["by_withdrawal_method"] == "10.00"


def test_approving_records_the_route_and_later_views_count_it_as_returned(
    lifecycle: Lifecycle, backoffice: BackOffice, api: CustomerApi
) -> None:
    deposit = credited(lifecycle, "30.00")
    first = withdraw(api, "25.00")
    route = backoffice.withdrawal(first)[1]["suggestion"]["route"]
    assert route == {deposit.transaction_id: "25.00"}
    status, approved = approve(backoffice, first, route)
    assert status == 200, approved
    assert approved["transaction"]["payout_route"] == route
    [record] = backoffice.audit(first)
    assert record.details is not None
    assert record.details["payout_route"] == f"{deposit.transaction_id}=25.00"

    second = withdraw(api, "10.00")
    _, view = backoffice.withdrawal(second)
    [source] = view["deposits"]
    assert (source["returned"], source["net"]) == ("25.00", "5.00")
    assert view["suggestion"]["route"] == {
        deposit.transaction_id: "5.00",
        "withdrawal_method": "5.00",
    }


@pytest.mark.parametrize(
    "route",
    [
        {"withdrawal_method": "24.99"},
        {"dep-of-someone-else": "25.00"},
        {"withdrawal_method": "25.001"},
    ],
)
def test_a_route_that_does_not_fit_is_422_and_changes_nothing(
    lifecycle: Lifecycle, backoffice: BackOffice, api: CustomerApi, route: dict[str, str]
) -> None:
    credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "25.00")
    status, body = approve(backoffice, withdrawal, route)
    assert (status, body["error"]["code"]) == (422, "payout_route_invalid")
    assert lifecycle.transaction(withdrawal).status is Status.MANUAL_REVIEW
    assert backoffice.audit(withdrawal) == []


def test_more_than_a_deposits_net_is_refused(
    lifecycle: Lifecycle, backoffice: BackOffice, api: CustomerApi
) -> None:
    deposit = credited(lifecycle, "10.00")
    withdrawal = withdraw(api, "25.00")
    route = {deposit.transaction_id: "10.01", "withdrawal_method": "14.99"}
    status, body = approve(backoffice, withdrawal, route)
    assert (status, body["error"]["code"]) == (422, "payout_route_invalid")


def test_approving_without_a_route_records_none(backoffice: BackOffice, api: CustomerApi) -> None:
    withdrawal = withdraw(api, "25.00")
    status, body = approve(backoffice, withdrawal, None)
    assert status == 200, body
    assert body["transaction"]["payout_route"] is None


def test_a_deposits_id_and_a_missing_id_are_no_such_withdrawal(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = lifecycle.deposit()
    for transaction_id in (deposit.transaction_id, "no-such-withdrawal"):
        status, body = backoffice.withdrawal(transaction_id)
        assert (status, body["error"]["code"]) == (404, "transaction_not_found")


def test_the_view_is_for_operators_only(backoffice: BackOffice, api: CustomerApi) -> None:
    withdrawal = withdraw(api, "25.00")
    status, body = backoffice.call(
        "BackOfficeGetWithdrawalFunction", path_id=withdrawal, principal=None
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # The customer's own view never carries the payout details.
    _, history = api.history(ALICE)
    [mine] = [t for t in history["transactions"] if t["transaction_id"] == withdrawal]
    assert "payout_details" not in mine
    assert Decimal(mine["amount"]) == Decimal("25.00")
