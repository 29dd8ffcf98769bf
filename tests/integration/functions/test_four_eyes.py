"""Four-eyes approval through the real BackOffice handlers against moto: above
the brand's second_approval_over a withdrawal needs two approvals by different
principals; the conftest checks balance == sum(ledger) after every test."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cashier_core.statuses import Status
from cashier_core.storage.records import BrandStore
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi

ALICE = "cus-alice"
SECOND = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-bob"


@pytest.fixture
def backoffice(api: CustomerApi) -> BackOffice:
    brands = BrandStore(api.aws.dynamodb, api.aws.tables.brands)
    alpha = brands.get("brand-alpha")
    assert alpha is not None
    brands.put(alpha.model_copy(update={"second_approval_over": {"USD": Decimal("50.00")}}))
    return BackOffice(api)


def balance(api: CustomerApi) -> Decimal:
    return api.aws.accounts().get("acc-alice-usd").balance


def withdraw(api: CustomerApi, amount: str) -> str:
    body = {"account_id": "acc-alice-usd", "amount": amount, "currency": "USD"}
    status, reply = api.withdraw(ALICE, body)
    assert status == 201, reply
    return str(reply["transaction"]["transaction_id"])


def approve(
    backoffice: BackOffice, transaction_id: str, principal: str = OPERATOR
) -> tuple[int, dict[str, Any]]:
    return backoffice.call(
        "BackOfficeApproveWithdrawalFunction",
        path_id=transaction_id,
        body={"payout_reference": f"PO-{principal[-3:]}", "note": "IBAN checked"},
        principal=principal,
    )


def reject(
    backoffice: BackOffice, transaction_id: str, principal: str
) -> tuple[int, dict[str, Any]]:
    return backoffice.call(
        "BackOfficeRejectWithdrawalFunction",
        path_id=transaction_id,
        body={"reason": "payout details do not match KYC"},
        principal=principal,
    )


def test_above_the_threshold_one_operator_cannot_complete_and_two_can(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "60.00")

    status, first = approve(backoffice, withdrawal)
    assert (status, first["applied"]) == (200, True)
    shown = first["transaction"]
    assert (shown["status_name"], shown["first_approved_by"]) == ("manual_review", OPERATOR)
    assert shown["awaiting_second_approval"] is True
    assert shown["provider_reference"] == "PO-ice"  # the first approver's, kept for the second
    # Listed as waiting, with who approved first.
    [listed] = backoffice.withdrawals()[1]["withdrawals"]
    assert (listed["transaction_id"], listed["first_approved_by"]) == (withdrawal, OPERATOR)
    assert listed["awaiting_second_approval"] is True

    status, refused = approve(backoffice, withdrawal)
    assert (status, refused["error"]["code"]) == (409, "second_approver_required")
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW

    status, done = approve(backoffice, withdrawal, SECOND)
    assert (status, done["applied"]) == (200, True)
    assert done["transaction"]["status_name"] == "provider_confirmed"
    assert done["transaction"]["provider_reference"] == "PO-bob"
    assert done["transaction"]["awaiting_second_approval"] is False
    assert balance(api) == Decimal("40.00")  # the hold stays debited
    assert backoffice.withdrawals()[1]["withdrawals"] == []

    trail = backoffice.audit(withdrawal)
    assert [(r.principal, r.status_before, r.status_after) for r in trail] == [
        (OPERATOR, Status.MANUAL_REVIEW, Status.MANUAL_REVIEW),
        (SECOND, Status.MANUAL_REVIEW, Status.PROVIDER_CONFIRMED),
    ]
    assert {r.action for r in trail} == {"approve_withdrawal"}
    # The person behind each principal: the session name, bound to the source identity.
    assert [r.operator for r in trail] == ["ops-alice", "ops-bob"]
    assert trail[0].details == {"payout_reference": "PO-ice", "second_approval_over": "50.00"}
    # A repeat by either now answers applied=false.
    assert approve(backoffice, withdrawal)[1]["applied"] is False
    assert approve(backoffice, withdrawal, SECOND)[1]["applied"] is False


@pytest.mark.parametrize("amount", ["50.00", "10.00"])
def test_at_or_under_the_threshold_one_approval_is_enough(
    api: CustomerApi, backoffice: BackOffice, amount: str
) -> None:
    withdrawal = withdraw(api, amount)
    status, body = approve(backoffice, withdrawal)
    assert (status, body["transaction"]["status_name"]) == (200, "provider_confirmed")
    assert body["transaction"]["first_approved_by"] is None
    assert len(backoffice.audit(withdrawal)) == 1


def test_another_currency_without_a_threshold_needs_one_approval(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    """A threshold binds its own currency only: with a USD one alone, a JPY
    withdrawal is approved once, whatever its amount."""
    brands = BrandStore(api.aws.dynamodb, api.aws.tables.brands)
    beta = brands.get("brand-beta")
    assert beta is not None
    brands.put(beta.model_copy(update={"second_approval_over": {"USD": Decimal("1.00")}}))
    status, held = api.withdraw(
        "cus-dan", {"account_id": "acc-dan-jpy", "amount": "40000", "currency": "JPY"}
    )
    assert status == 201, held
    withdrawal = held["transaction"]["transaction_id"]
    assert approve(backoffice, withdrawal)[1]["transaction"]["status_name"] == "provider_confirmed"


@pytest.mark.parametrize("who", [OPERATOR, SECOND], ids=["first-approver", "other-operator"])
def test_a_reject_after_the_first_approval_releases_the_hold(
    api: CustomerApi, backoffice: BackOffice, who: str
) -> None:
    withdrawal = withdraw(api, "60.00")
    assert approve(backoffice, withdrawal)[0] == 200
    status, body = reject(backoffice, withdrawal, who)
    assert (status, body["transaction"]["status_name"]) == (200, "cancelled")
    assert balance(api) == Decimal("100.00")
    assert approve(backoffice, withdrawal, SECOND)[0] == 409


def test_the_customer_may_cancel_between_the_two_approvals(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "60.00")
    assert approve(backoffice, withdrawal)[0] == 200
    status, body = api.cancel(ALICE, withdrawal)
    assert (status, body["transaction"]["status_name"]) == (200, "cancelled")
    assert balance(api) == Decimal("100.00")
    status, late = approve(backoffice, withdrawal, SECOND)
    assert (status, late["error"]["code"]) == (409, "invalid_transition")


def race_approvals(
    api: CustomerApi, backoffice: BackOffice, withdrawal: str, first: str, second: str
) -> list[tuple[str, tuple[int, dict[str, Any]]]]:
    """`second`'s approval commits between `first`'s read and its write."""
    client = api.module("BackOfficeApproveWithdrawalFunction").cashier.transactions._client
    answers: list[tuple[str, tuple[int, dict[str, Any]]]] = []

    def hook(**_: object) -> None:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
        answers.append((second, approve(backoffice, withdrawal, second)))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", hook)
    answers.append((first, approve(backoffice, withdrawal, first)))
    return answers


def test_two_different_approvers_racing_first_cannot_both_be_first(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    """Both read the unapproved withdrawal; one first approval commits; the other
    decides again on it and, being another principal, completes the approval."""
    withdrawal = withdraw(api, "60.00")
    answers = race_approvals(api, backoffice, withdrawal, OPERATOR, SECOND)
    assert [(who, status) for who, (status, _) in answers] == [(SECOND, 200), (OPERATOR, 200)]
    assert answers[0][1][1]["transaction"]["status_name"] == "manual_review"
    assert answers[1][1][1]["transaction"]["status_name"] == "provider_confirmed"
    trail = backoffice.audit(withdrawal)
    assert [(r.principal, r.status_after) for r in trail] == [
        (SECOND, Status.MANUAL_REVIEW),
        (OPERATOR, Status.PROVIDER_CONFIRMED),
    ]
    assert api.aws.transactions().get(withdrawal).version == 3


def test_one_approver_racing_themself_records_one_approval(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api, "60.00")
    answers = race_approvals(api, backoffice, withdrawal, OPERATOR, OPERATOR)
    assert answers[0][1][0] == 200
    status, refused = answers[1][1]
    assert (status, refused["error"]["code"]) == (409, "second_approver_required")
    current = api.aws.transactions().get(withdrawal)
    assert (current.status, current.first_approved_by, current.version) == (
        Status.MANUAL_REVIEW,
        OPERATOR,
        2,
    )
    assert len(backoffice.audit(withdrawal)) == 1
