"""BackOffice operations through their real handlers against moto.

Each operation is a guarded status change with its audit record; each is
idempotent; the conftest checks balance == sum(ledger) after every test."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from cashier_core.models import LedgerKind, Transaction
from cashier_core.statuses import Status
from tests.support.backoffice import OPERATOR, BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle

ALICE, CAROL, DAN = "cus-alice", "cus-carol", "cus-dan"


def balance(api: CustomerApi, account_id: str = "acc-alice-usd") -> Decimal:
    return api.aws.accounts().get(account_id).balance


def withdraw(api: CustomerApi, amount: str = "30.00", customer: str = ALICE) -> str:
    account = {ALICE: "acc-alice-usd", DAN: "acc-dan-jpy"}[customer]
    currency = {ALICE: "USD", DAN: "JPY"}[customer]
    status, body = api.withdraw(
        customer, {"account_id": account, "amount": amount, "currency": currency}
    )
    assert status == 201, body
    return str(body["transaction"]["transaction_id"])


def error_code(body: dict[str, Any]) -> str:
    return str(body["error"]["code"])


def set_account_status(api: CustomerApi, account_id: str, status: str) -> None:
    api.aws.dynamodb.update_item(
        TableName=api.aws.tables.accounts,
        Key={"account_id": {"S": account_id}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


def race(client: Any, operation: str, competitor: Callable[[], object]) -> None:
    """Run `competitor` to completion just before `client`'s next `operation`
    is sent: both have read the same version, the competitor commits first."""

    def hook(**_: object) -> None:
        client.meta.events.unregister(f"before-call.dynamodb.{operation}", hook)
        competitor()

    client.meta.events.register(f"before-call.dynamodb.{operation}", hook)


def client_of(backoffice: BackOffice, function_id: str) -> Any:
    return backoffice.api.module(function_id).cashier.transactions._client


# --- access ------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"principal": None},
        {"principal": None, "customer_context": True},
        {"customer_context": True},
    ],
    ids=["no-principal", "customer-session", "principal-and-customer-session"],
)
def test_only_a_verified_iam_principal_is_an_operator(
    backoffice: BackOffice, api: CustomerApi, kwargs: dict[str, Any]
) -> None:
    withdrawal = withdraw(api)
    for function_id, extra in [
        ("BackOfficeListWithdrawalsFunction", {}),
        (
            "BackOfficeApproveWithdrawalFunction",
            {"path_id": withdrawal, "body": {"payout_reference": "X"}},
        ),
        ("BackOfficeRejectWithdrawalFunction", {"path_id": withdrawal, "body": {"reason": "nope"}}),
        ("BackOfficeReconcileAccountFunction", {"path_id": "acc-alice-usd"}),
        ("BackOfficeReconcileDepositLimitsFunction", {"path_id": "cus-alice"}),
    ]:
        status, body = backoffice.call(function_id, **extra, **kwargs)
        assert (status, error_code(body)) == (403, "forbidden"), function_id
    assert api.aws.transactions().get(withdrawal).status is Status.MANUAL_REVIEW
    assert backoffice.audit(withdrawal) == []


# --- withdrawals ---------------------------------------------------------------
def test_waiting_withdrawals_are_listed_by_brand_and_age(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    alices = withdraw(api)
    dans = withdraw(api, "1000", customer=DAN)

    status, body = backoffice.withdrawals()
    assert status == 200, body
    assert [w["transaction_id"] for w in body["withdrawals"]] == [alices, dans]  # oldest first
    first = body["withdrawals"][0]
    assert (first["customer_id"], first["brand_id"], first["status_name"]) == (
        ALICE,
        "brand-alpha",
        "manual_review",
    )
    assert first["waiting_reason"] == "withdrawal requested; funds held for BackOffice"

    _, beta = backoffice.withdrawals(brand_id="brand-beta")
    assert [w["transaction_id"] for w in beta["withdrawals"]] == [dans]
    _, old = backoffice.withdrawals(older_than_minutes="60")
    assert old["withdrawals"] == []


def test_withdrawal_lists_page_with_a_cursor_bound_to_the_query(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    made = [withdraw(api, "5.00") for _ in range(3)]
    _, first = backoffice.withdrawals(limit="2")
    assert len(first["withdrawals"]) == 2 and first["next_cursor"]
    _, second = backoffice.withdrawals(limit="2", cursor=first["next_cursor"])
    listed = [w["transaction_id"] for w in first["withdrawals"] + second["withdrawals"]]
    assert listed == made and second["next_cursor"] is None
    status, body = backoffice.withdrawals(
        limit="2", brand_id="brand-beta", cursor=first["next_cursor"]
    )
    assert (status, error_code(body)) == (400, "invalid_cursor")


def test_approve_keeps_the_hold_records_who_and_is_idempotent(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    withdrawal = withdraw(api)
    assert balance(api) == Decimal("70.00")

    status, body = backoffice.approve(withdrawal, "PAYOUT-77")
    assert status == 200, body
    assert body["applied"] is True
    assert (body["transaction"]["status"], body["transaction"]["provider_reference"]) == (
        2,
        "PAYOUT-77",
    )
    assert body["transaction"]["history"][-1]["source"] == f"backoffice:{OPERATOR}"
    assert balance(api) == Decimal("70.00")  # the held funds stay debited

    again_status, again = backoffice.approve(withdrawal, "PAYOUT-77")
    assert (again_status, again["applied"]) == (200, False)
    [record] = backoffice.audit(withdrawal)
    assert (record.action, record.principal) == ("approve_withdrawal", OPERATOR)
    assert (record.status_before, record.status_after) == (
        Status.MANUAL_REVIEW,
        Status.PROVIDER_CONFIRMED,
    )
    assert record.reason == "checked the IBAN"
    assert record.details == {"payout_reference": "PAYOUT-77"}


def test_reject_releases_the_hold_with_its_ledger_entry(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    withdrawal = withdraw(api)
    status, body = backoffice.reject(withdrawal)
    assert (status, body["transaction"]["status_name"], body["applied"]) == (200, "cancelled", True)
    assert balance(api) == Decimal("100.00")
    kinds = [
        e.kind for e in api.aws.accounts().ledger("acc-alice-usd") if e.transaction_id == withdrawal
    ]
    assert sorted(kinds) == [LedgerKind.HOLD_RELEASE, LedgerKind.WITHDRAWAL_HOLD]
    [record] = backoffice.audit(withdrawal)
    assert (record.action, record.status_after, record.reason) == (
        "reject_withdrawal",
        Status.CANCELLED,
        "KYC incomplete",
    )
    assert backoffice.reject(withdrawal)[1]["applied"] is False
    assert balance(api) == Decimal("100.00")


def test_a_failed_payout_after_approval_releases_the_hold(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    withdrawal = withdraw(api)
    backoffice.approve(withdrawal)
    status, body = backoffice.payout_failed(withdrawal)
    assert (status, body["transaction"]["status_name"]) == (200, "failed")
    assert balance(api) == Decimal("100.00")
    assert [r.action for r in backoffice.audit(withdrawal)] == ["approve_withdrawal", "fail_payout"]


def test_reject_after_approve_is_refused_and_changes_nothing(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    withdrawal = withdraw(api)
    backoffice.approve(withdrawal)
    status, body = backoffice.reject(withdrawal)
    assert (status, error_code(body)) == (409, "invalid_transition")
    assert api.aws.transactions().get(withdrawal).status is Status.PROVIDER_CONFIRMED
    assert balance(api) == Decimal("70.00")
    assert [r.action for r in backoffice.audit(withdrawal)] == ["approve_withdrawal"]


@pytest.mark.parametrize(
    ("function_id", "operation", "act"),
    [
        ("BackOfficeApproveWithdrawalFunction", "TransactWriteItems", lambda b, t: b.approve(t)),
        ("BackOfficeRejectWithdrawalFunction", "TransactWriteItems", lambda b, t: b.reject(t)),
    ],
    ids=["approve", "reject"],
)
def test_the_same_withdrawal_action_twice_at_once_has_one_effect(
    backoffice: BackOffice,
    api: CustomerApi,
    function_id: str,
    operation: str,
    act: Callable[[BackOffice, str], tuple[int, dict[str, Any]]],
) -> None:
    withdrawal = withdraw(api)
    answers: list[tuple[int, dict[str, Any]]] = []
    race(
        client_of(backoffice, function_id),
        operation,
        lambda: answers.append(act(backoffice, withdrawal)),
    )
    answers.append(act(backoffice, withdrawal))
    assert sorted((status, body["applied"]) for status, body in answers) == [
        (200, False),
        (200, True),
    ]
    assert len(backoffice.audit(withdrawal)) == 1
    current = api.aws.transactions().get(withdrawal)
    assert current.version == 2  # born, then exactly one change


def test_approve_and_reject_at_once_one_wins_the_other_is_refused(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    withdrawal = withdraw(api)
    answers: list[tuple[int, dict[str, Any]]] = []
    race(
        client_of(backoffice, "BackOfficeRejectWithdrawalFunction"),
        "TransactWriteItems",
        lambda: answers.append(backoffice.approve(withdrawal)),
    )
    answers.append(backoffice.reject(withdrawal))
    assert answers[0][0] == 200
    assert (answers[1][0], error_code(answers[1][1])) == (409, "invalid_transition")
    assert balance(api) == Decimal("70.00")


def test_a_deposits_id_is_no_such_withdrawal(backoffice: BackOffice, lifecycle: Lifecycle) -> None:
    deposit = lifecycle.deposit()
    status, body = backoffice.approve(deposit.transaction_id)
    assert (status, error_code(body)) == (404, "transaction_not_found")
    status, body = backoffice.reject("no-such-transaction")
    assert (status, error_code(body)) == (404, "transaction_not_found")


@pytest.mark.parametrize(
    ("path_id", "body"),
    [
        ("x" * 200, {"reason": "long id"}),
        ("a/b", {"reason": "slash"}),
        ("ok-id", {"reason": ""}),
        ("ok-id", {"reason": "fine", "status": 3}),
        ("ok-id", b"{not json"),
    ],
)
def test_bad_operator_input_is_4xx_and_writes_nothing(
    backoffice: BackOffice, path_id: str, body: Any
) -> None:
    status, reply_body = backoffice.call(
        "BackOfficeRejectWithdrawalFunction", path_id=path_id, body=body
    )
    assert 400 <= status < 500, reply_body
    assert "code" in reply_body["error"]


# --- deposits ----------------------------------------------------------------
def mismatched(lifecycle: Lifecycle) -> Transaction:
    deposit = lifecycle.deposit()
    body = lifecycle.sandbox_body(deposit, "succeeded", amount="24.00")
    assert lifecycle.sandbox_webhook(body)[0] == 200
    current = lifecycle.transaction(deposit.transaction_id)
    assert current.status is Status.MANUAL_REVIEW
    return current


def test_reviewed_deposits_are_listed_with_reason_and_provider_events(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = mismatched(lifecycle)
    status, body = backoffice.deposits()
    assert status == 200, body
    [listed] = body["deposits"]
    assert listed["transaction"]["transaction_id"] == deposit.transaction_id
    assert listed["transaction"]["waiting_reason"].startswith("amount mismatch")
    [event] = listed["provider_events"]
    assert (event["provider"], event["raw_status"]) == ("sandbox", "succeeded")
    assert '"24.00"' in event["body"]
    assert "x-sandbox-signature" in event["headers"]
    assert backoffice.deposits(status="4")[1]["deposits"] == []


def test_a_reviewed_deposit_is_credited_through_the_queue_once(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = mismatched(lifecycle)
    status, body = backoffice.resolve(deposit.transaction_id, "credit")
    assert (status, body["transaction"]["status_name"], body["applied"]) == (
        200,
        "provider_confirmed",
        True,
    )
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PROVIDER_CONFIRMED
    assert lifecycle.drain() == 1
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    assert balance(lifecycle.api) == Decimal("125.00")  # the deposit's own amount

    again_status, again = backoffice.resolve(deposit.transaction_id, "credit")
    assert (again_status, again["applied"]) == (200, False)
    lifecycle.drain()
    assert balance(lifecycle.api) == Decimal("125.00")
    assert [r.action for r in backoffice.audit(deposit.transaction_id)] == [
        "credit_reviewed_deposit"
    ]


def test_a_reviewed_deposit_can_be_rejected_and_then_not_credited(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = mismatched(lifecycle)
    status, body = backoffice.resolve(deposit.transaction_id, "reject")
    assert (status, body["transaction"]["status_name"]) == (200, "failed")
    status, body = backoffice.resolve(deposit.transaction_id, "credit")
    assert (status, error_code(body)) == (409, "invalid_transition")
    assert lifecycle.drain() == 0
    assert balance(lifecycle.api) == Decimal("100.00")


def test_only_manual_review_deposits_are_resolved(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = lifecycle.deposit()  # pending_payment
    status, body = backoffice.resolve(deposit.transaction_id, "credit")
    assert (status, error_code(body)) == (409, "invalid_transition")
    assert lifecycle.drain() == 0


def credit_failed(lifecycle: Lifecycle) -> Transaction:
    deposit = lifecycle.deposit()
    set_account_status(lifecycle.api, "acc-alice-usd", "closed")
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    lifecycle.drain()
    current = lifecycle.transaction(deposit.transaction_id)
    assert current.status is Status.CREDIT_FAILED
    return current


def test_a_failed_credit_is_retried_once_the_cause_is_fixed(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = credit_failed(lifecycle)
    _, listed = backoffice.deposits(status="4")
    [waiting] = listed["deposits"]
    assert waiting["transaction"]["waiting_reason"].startswith("account_closed")

    set_account_status(lifecycle.api, "acc-alice-usd", "open")
    status, body = backoffice.retry_credit(deposit.transaction_id)
    assert (status, body["applied"]) == (200, True)
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    assert balance(lifecycle.api) == Decimal("125.00")
    # Retrying what is credited already changes nothing.
    assert backoffice.retry_credit(deposit.transaction_id)[1]["applied"] is False
    lifecycle.drain()
    assert balance(lifecycle.api) == Decimal("125.00")


def test_retry_twice_at_once_enqueues_and_credits_once(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = credit_failed(lifecycle)
    set_account_status(lifecycle.api, "acc-alice-usd", "open")
    answers: list[tuple[int, dict[str, Any]]] = []
    race(
        client_of(backoffice, "BackOfficeRetryCreditFunction"),
        "TransactWriteItems",
        lambda: answers.append(backoffice.retry_credit(deposit.transaction_id)),
    )
    answers.append(backoffice.retry_credit(deposit.transaction_id))
    assert sorted(body["applied"] for _, body in answers) == [False, True]
    assert len(backoffice.audit(deposit.transaction_id)) == 1
    lifecycle.drain()  # both answers enqueued: the worker credits once
    assert balance(lifecycle.api) == Decimal("125.00")


def test_a_closed_account_fails_the_credit_again_after_a_premature_retry(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    deposit = credit_failed(lifecycle)
    backoffice.retry_credit(deposit.transaction_id)
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDIT_FAILED
    assert balance(lifecycle.api) == Decimal("100.00")


# --- bank wires ----------------------------------------------------------------
def wire_deposit(api: CustomerApi, amount: str = "100.00") -> dict[str, Any]:
    status, body = api.deposit(
        CAROL,
        {
            "account_id": "acc-carol-eur",
            "method_id": "wire-eur",
            "amount": amount,
            "currency": "EUR",
        },
    )
    assert status == 201, body
    return dict(body["transaction"])


def test_a_wire_of_the_right_amount_confirms_and_credits(
    backoffice: BackOffice, lifecycle: Lifecycle
) -> None:
    api = lifecycle.api
    wire = wire_deposit(api)
    before = balance(api, "acc-carol-eur")
    status, body = backoffice.confirm_wire(wire["provider_reference"], "100.00", "EUR")
    assert (status, body["transaction"]["status_name"]) == (200, "provider_confirmed")
    lifecycle.drain()
    assert lifecycle.transaction(wire["transaction_id"]).status is Status.CREDITED
    assert balance(api, "acc-carol-eur") == before + Decimal("100.00")
    assert (
        backoffice.confirm_wire(wire["provider_reference"], "100.00", "EUR")[1]["applied"] is False
    )
    [record] = backoffice.audit(wire["transaction_id"])
    assert record.details == {"reference": wire["provider_reference"], "received": "100.00 EUR"}


@pytest.mark.parametrize(("amount", "currency"), [("99.99", "EUR"), ("100.00", "USD")])
def test_a_wire_of_another_amount_goes_to_manual_review(
    backoffice: BackOffice, lifecycle: Lifecycle, amount: str, currency: str
) -> None:
    wire = wire_deposit(lifecycle.api)
    status, body = backoffice.confirm_wire(wire["provider_reference"], amount, currency)
    assert (status, body["transaction"]["status_name"]) == (200, "manual_review")
    assert "expected 100.00 EUR" in body["transaction"]["waiting_reason"]
    assert lifecycle.drain() == 0


@pytest.mark.parametrize(
    "case",
    [
        ("BW-NOPE", "100.00", "transaction_not_found", 404),
        (None, "100.001", "amount_too_precise", 422),
        (None, "-1", "amount_negative", 422),
        (None, "1e2", "amount_exponent_not_allowed", 422),
    ],
)
def test_bad_wire_confirmations_are_refused_with_a_code(
    backoffice: BackOffice, lifecycle: Lifecycle, case: tuple[str | None, str, str, int]
) -> None:
    reference, amount, code, http = case
    wire = wire_deposit(lifecycle.api)
    status, body = backoffice.confirm_wire(reference or wire["provider_reference"], amount, "EUR")
    assert (status, error_code(body)) == (http, code)
    assert lifecycle.transaction(wire["transaction_id"]).status is Status.PENDING_PAYMENT


# --- accounts ------------------------------------------------------------------
def test_reconcile_reports_a_balanced_account_and_audits_the_check(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    withdraw(api)
    status, body = backoffice.reconcile("acc-alice-usd")
    assert status == 200, body
    assert body == {
        "account_id": "acc-alice-usd",
        "currency": "USD",
        "balance": "70.00",
        "ledger_sum": "70.00",
        "difference": "0.00",
        "entries": 2,
        "balanced": True,
    }
    [record] = backoffice.audit("acc-alice-usd")
    assert (record.action, record.principal) == ("reconcile_account", OPERATOR)


def test_reconcile_reports_a_difference_and_never_rewrites_the_balance(
    backoffice: BackOffice, api: CustomerApi
) -> None:
    # A balance changed behind the ledger's back (a bug, or a hand edit).
    api.aws.dynamodb.update_item(
        TableName=api.aws.tables.accounts,
        Key={"account_id": {"S": "acc-alice-usd"}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="ADD balance :x",
        ExpressionAttributeValues={":x": {"N": "5"}},
    )
    status, body = backoffice.reconcile("acc-alice-usd")
    assert (status, body["difference"], body["balanced"]) == (200, "5.00", False)
    assert balance(api) == Decimal("105.00")
    # Put it back, so the after-test invariant speaks about the code, not this test.
    api.aws.dynamodb.update_item(
        TableName=api.aws.tables.accounts,
        Key={"account_id": {"S": "acc-alice-usd"}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="ADD balance :x",
        ExpressionAttributeValues={":x": {"N": "-5"}},
    )


def test_reconciling_a_missing_account_is_404(backoffice: BackOffice) -> None:
    status, body = backoffice.reconcile("acc-nope")
    assert (status, error_code(body)) == (404, "account_not_found")
