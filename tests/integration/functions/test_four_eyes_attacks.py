"""Four eyes: two different people must agree on the same payout."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cashier_core.statuses import Status
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import (
    BOB_OPS,
    approve,
    balance,
    credited,
    set_brand,
    withdraw,
)


@pytest.fixture
def backoffice(api: CustomerApi) -> BackOffice:
    set_brand(api, second_approval_over={"USD": Decimal("20.00")})
    return BackOffice(api)


def test_the_second_approver_cannot_pay_out_somewhere_the_first_did_not_approve(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Alice approves a refund to the card the money came from; Bob completes
    the approval sending all of it by the withdrawal's own method (the IBAN).
    What is paid out is then decided by one person."""
    deposit = credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "30.00")
    card = {deposit.transaction_id: "30.00"}
    status, first = approve(backoffice, withdrawal, route=card, reference="PO-A")
    assert (status, first["transaction"]["status_name"]) == (200, "manual_review")

    approve(
        backoffice,
        withdrawal,
        principal=BOB_OPS,
        route={"withdrawal_method": "30.00"},
        reference="PO-B",
    )
    current = api.aws.transactions().get(withdrawal)
    if current.status is Status.PROVIDER_CONFIRMED:
        assert current.payout_route == card, (
            f"paid out by route {current.payout_route}, the first approver approved {card}"
        )


def test_the_first_approvers_route_is_not_dropped_when_the_second_names_none(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "30.00")
    card = {deposit.transaction_id: "30.00"}
    assert approve(backoffice, withdrawal, route=card)[0] == 200
    approve(backoffice, withdrawal, principal=BOB_OPS)
    current = api.aws.transactions().get(withdrawal)
    if current.status is Status.PROVIDER_CONFIRMED:
        assert current.payout_route == card


def test_a_threshold_set_now_binds_a_warm_approve_container(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    """Compliance turns on four eyes for USD; a warm approve container read the
    brand before (60 s cache) and pays a large withdrawal on one approval."""
    set_brand(api, second_approval_over={})
    small = withdraw(api, "1.00")
    assert approve(backoffice, small)[0] == 200  # warms the brand cache
    set_brand(api, second_approval_over={"USD": Decimal("20.00")})
    large = withdraw(api, "60.00")
    status, body = approve(backoffice, large)
    assert status == 200, body
    assert body["transaction"]["status_name"] == "manual_review", "one approval paid 60.00"


def test_exactly_the_threshold_needs_one_approval_as_documented(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "20.00")
    assert approve(backoffice, withdrawal)[1]["transaction"]["status_name"] == "provider_confirmed"


def test_first_approval_then_reject_then_approve_is_refused_and_money_is_back(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "60.00")
    assert approve(backoffice, withdrawal)[0] == 200
    assert backoffice.reject(withdrawal)[0] == 200
    assert approve(backoffice, withdrawal, principal=BOB_OPS)[0] == 409
    assert backoffice.payout_failed(withdrawal)[0] == 409
    assert balance(api) == Decimal("100.00")


@pytest.mark.parametrize(
    "same_person",
    [OPERATOR.replace("ops-alice", "OPS-ALICE")],
)
def test_spellings_of_the_first_approvers_principal_do_not_count_as_a_second_person(
    api: CustomerApi, backoffice: BackOffice, same_person: str
) -> None:
    """The same person's session under another case of their name (possible
    while the source identity is free-form): the raw ARN comparison counts
    OPS-ALICE as a second approver."""
    withdrawal = withdraw(api, "60.00")
    assert approve(backoffice, withdrawal)[0] == 200
    status, body = approve(backoffice, withdrawal, principal=same_person)
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW, (status, body)


def test_the_second_approver_naming_another_route_is_route_not_approved(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "30.00")
    assert approve(backoffice, withdrawal, route={deposit.transaction_id: "30.00"})[0] == 200
    status, body = approve(
        backoffice, withdrawal, principal=BOB_OPS, route={"withdrawal_method": "30.00"}
    )
    assert (status, body["error"]["code"]) == (409, "route_not_approved")
    # The same route in another spelling of its amounts is the same route.
    status, body = approve(
        backoffice, withdrawal, principal=BOB_OPS, route={deposit.transaction_id: "30"}
    )
    assert status == 200, body
    done = api.aws.transactions().get(withdrawal)
    assert done.payout_route == {deposit.transaction_id: "30.00"}
    assert api.aws.transactions().get(deposit.transaction_id).payout_returns == {
        withdrawal: "30.00"
    }


def test_a_first_approval_needs_no_reference_and_the_payout_needs_one(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "60.00")
    status, body = backoffice.call(
        "BackOfficeApproveWithdrawalFunction", path_id=withdrawal, body={"note": "KYC ok"}
    )
    assert (status, body["transaction"]["status_name"]) == (200, "manual_review")
    status, body = backoffice.call(
        "BackOfficeApproveWithdrawalFunction",
        path_id=withdrawal,
        body={"note": "paid"},
        principal=BOB_OPS,
    )
    assert (status, body["error"]["code"]) == (422, "payout_reference_required")
    assert approve(backoffice, withdrawal, principal=BOB_OPS, reference="PO-B")[0] == 200
    assert api.aws.transactions().get(withdrawal).provider_reference == "PO-B"


def test_a_begun_four_eyes_approval_completes_as_one_after_the_threshold_is_lifted(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "60.00")
    assert approve(backoffice, withdrawal)[0] == 200
    set_brand(api, second_approval_over={})
    status, body = approve(backoffice, withdrawal)
    assert (status, body["error"]["code"]) == (409, "second_approver_required")
