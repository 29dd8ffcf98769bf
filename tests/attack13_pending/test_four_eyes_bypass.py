"""Four eyes: two different people must agree on the same payout."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cashier_core.statuses import Status
from cashier_local import template
from tests.attack13_pending.helpers import (
    BOB_OPS,
    approve,
    balance,
    credited,
    set_brand,
    withdraw,
)
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle


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


def _trust(role_id: str) -> dict[str, object]:
    role = template.load_template()["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    return dict(trust)


@pytest.mark.parametrize("role_id", ["BackOfficeOperatorRole", "BackOfficeReviewerRole"])
def test_the_source_identity_is_bound_to_the_caller_not_chosen_freely(role_id: str) -> None:
    """Four eyes compares principals whose session name equals the source
    identity; nothing ties the source identity to who signs in, so one operator
    assumes the payout role twice (SourceIdentity ops-alice, then ops-x) and
    is two approvers. AWS's pattern: sts:SourceIdentity = ${aws:username} (IAM
    users) or a source identity set by the IdP (SAML) and carried over."""
    condition = json.dumps(_trust(role_id)["Condition"])
    bound = any(
        variable in condition
        for variable in ("${aws:username}", "${aws:userid}", "${aws:PrincipalTag/", "${saml:")
    )
    assert bound, f"source identity is free-form: {condition}"
