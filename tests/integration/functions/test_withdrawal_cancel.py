"""CancelCashierWithdrawal through its real handler against moto: a customer
cancels a withdrawal still waiting for BackOffice; the hold comes back with its
ledger entry and an audit record; the conftest checks balance == sum(ledger)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cashier_core.models import LedgerKind
from cashier_core.statuses import Status
from cashier_core.storage.records import BrandStore
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle

ALICE, MALLORY = "cus-alice", "cus-mallory"


def balance(api: CustomerApi) -> Decimal:
    return api.aws.accounts().get("acc-alice-usd").balance


def withdraw(api: CustomerApi, amount: str = "30.00") -> str:
    body = {"account_id": "acc-alice-usd", "amount": amount, "currency": "USD"}
    status, reply = api.withdraw(ALICE, body)
    assert status == 201, reply
    return str(reply["transaction"]["transaction_id"])


def ledger_kinds(api: CustomerApi, transaction_id: str) -> list[LedgerKind]:
    entries = api.aws.accounts().ledger("acc-alice-usd")
    return sorted(e.kind for e in entries if e.transaction_id == transaction_id)


def code(body: dict[str, Any]) -> str:
    return str(body["error"]["code"])


def test_a_waiting_withdrawal_is_cancelled_and_its_hold_released_with_ledger_and_audit(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api)
    assert balance(api) == Decimal("70.00")

    status, body = api.cancel(ALICE, withdrawal)
    assert status == 200, body
    assert body["applied"] is True
    assert (body["transaction"]["status"], body["transaction"]["status_name"]) == (6, "cancelled")
    assert body["transaction"]["history"][-1]["reason"] == "withdrawal_cancelled"
    assert balance(api) == Decimal("100.00")
    assert ledger_kinds(api, withdrawal) == [LedgerKind.HOLD_RELEASE, LedgerKind.WITHDRAWAL_HOLD]
    [record] = backoffice.audit(withdrawal)
    assert (record.action, record.principal) == ("cancel_withdrawal", f"customer:{ALICE}")
    assert (record.status_before, record.status_after) == (Status.MANUAL_REVIEW, Status.CANCELLED)
    # Nobody has to act on it any more.
    assert backoffice.withdrawals()[1]["withdrawals"] == []


def test_cancelling_again_answers_the_same_transaction_and_writes_nothing(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api)
    first = api.cancel(ALICE, withdrawal)
    again = api.cancel(ALICE, withdrawal)
    assert again[0] == 200
    assert again[1]["applied"] is False
    assert again[1]["transaction"] == first[1]["transaction"]
    assert balance(api) == Decimal("100.00")
    assert len(backoffice.audit(withdrawal)) == 1


def test_cancelling_after_approval_is_409_and_changes_nothing(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api)
    assert backoffice.approve(withdrawal)[0] == 200
    status, body = api.cancel(ALICE, withdrawal)
    assert (status, code(body)) == (409, "invalid_transition")
    assert api.aws.transactions().get(withdrawal).status is Status.PROVIDER_CONFIRMED
    assert balance(api) == Decimal("70.00")


def test_a_withdrawal_backoffice_declined_is_not_the_customers_to_cancel(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    withdrawal = withdraw(api)
    assert backoffice.reject(withdrawal)[0] == 200
    status, body = api.cancel(ALICE, withdrawal)
    assert (status, code(body)) == (409, "invalid_transition")
    assert [r.action for r in backoffice.audit(withdrawal)] == ["reject_withdrawal"]


def test_another_customers_withdrawal_answers_exactly_as_a_missing_one(api: CustomerApi) -> None:
    withdrawal = withdraw(api)
    foreign = api.cancel(MALLORY, withdrawal)
    missing = api.cancel(MALLORY, "no-such-withdrawal")
    assert foreign == missing
    assert (foreign[0], code(foreign[1])) == (404, "transaction_not_found")
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW
    assert balance(api) == Decimal("70.00")


def test_a_deposits_id_is_no_such_withdrawal(api: CustomerApi, lifecycle: Lifecycle) -> None:
    deposit = lifecycle.deposit()
    status, body = api.cancel(ALICE, deposit.transaction_id)
    assert (status, code(body)) == (404, "transaction_not_found")
    assert api.aws.transactions().get(deposit.transaction_id).status is deposit.status


def test_a_brand_that_forbids_customer_cancellation_answers_403(api: CustomerApi) -> None:
    brands = BrandStore(api.aws.dynamodb, api.aws.tables.brands)
    alpha = brands.get("brand-alpha")
    assert alpha is not None
    brands.put(alpha.model_copy(update={"customer_cancels_withdrawals": False}))
    withdrawal = withdraw(api)
    status, body = api.cancel(ALICE, withdrawal)
    assert (status, code(body)) == (403, "withdrawal_cancellation_not_allowed")
    assert balance(api) == Decimal("70.00")
    # Still a foreign id answers as a missing one, never with the brand's rule.
    assert api.cancel(MALLORY, withdrawal)[0] == 404


def test_without_a_session_the_route_is_401(api: CustomerApi) -> None:
    withdrawal = withdraw(api)
    status, body = api.call(
        "CancelCashierWithdrawalFunction", None, path_parameters={"transaction_id": withdrawal}
    )
    assert (status, code(body)) == (401, "unauthorized")


@pytest.mark.parametrize("bad_id", ["a" * 129, "has space", "semi;colon"])
def test_a_malformed_id_is_a_4xx_and_writes_nothing(api: CustomerApi, bad_id: str) -> None:
    withdraw(api)
    status, _ = api.cancel(ALICE, bad_id)
    assert 400 <= status < 500
    assert balance(api) == Decimal("70.00")


@pytest.mark.parametrize("body", ['{"status": 2}', '{"customer_id": "cus-mallory"}'])
def test_fields_sent_to_cancel_are_refused_not_ignored(api: CustomerApi, body: str) -> None:
    withdrawal = withdraw(api)
    status, reply = api.call(
        "CancelCashierWithdrawalFunction",
        ALICE,
        body=body,
        path_parameters={"transaction_id": withdrawal},
    )
    assert (status, code(reply)) == (422, "unknown_field")
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW


def test_a_body_that_is_not_json_is_400_as_the_document_says(api: CustomerApi) -> None:
    """Found by the fuzzing: the route documents 400 malformed_json."""
    withdrawal = withdraw(api)
    status, reply = api.call(
        "CancelCashierWithdrawalFunction",
        ALICE,
        body="\x00",
        path_parameters={"transaction_id": withdrawal},
    )
    assert (status, code(reply)) == (400, "malformed_json")
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW


def test_an_empty_json_object_is_a_plain_cancel(api: CustomerApi) -> None:
    withdrawal = withdraw(api)
    status, reply = api.call(
        "CancelCashierWithdrawalFunction",
        ALICE,
        body="{}",
        path_parameters={"transaction_id": withdrawal},
    )
    assert (status, reply["transaction"]["status_name"]) == (200, "cancelled")


def test_a_cancel_racing_an_approve_has_one_winner(
    api: CustomerApi, backoffice: BackOffice
) -> None:
    """The approve commits between the cancel's read and its write: the cancel
    decides again on the approved withdrawal and is refused."""
    withdrawal = withdraw(api)
    client = api.module("CancelCashierWithdrawalFunction").cashier.transactions._client
    approved: list[tuple[int, dict[str, Any]]] = []

    def hook(**_: object) -> None:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
        approved.append(backoffice.approve(withdrawal))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", hook)
    status, body = api.cancel(ALICE, withdrawal)
    assert approved[0][0] == 200 and approved[0][1]["applied"] is True
    assert (status, code(body)) == (409, "invalid_transition")
    assert balance(api) == Decimal("70.00")
    assert [r.principal for r in backoffice.audit(withdrawal)] == [OPERATOR]


def test_an_approve_racing_a_cancel_is_refused(api: CustomerApi, backoffice: BackOffice) -> None:
    withdrawal = withdraw(api)
    client = backoffice.api.module(
        "BackOfficeApproveWithdrawalFunction"
    ).cashier.transactions._client
    cancelled: list[tuple[int, dict[str, Any]]] = []

    def hook(**_: object) -> None:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
        cancelled.append(api.cancel(ALICE, withdrawal))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", hook)
    status, body = backoffice.approve(withdrawal)
    assert cancelled[0][0] == 200 and cancelled[0][1]["applied"] is True
    assert (status, code(body)) == (409, "invalid_transition")
    assert balance(api) == Decimal("100.00")
