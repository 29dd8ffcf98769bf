"""CancelCashierWithdrawal over real HTTP against the running local stack: a
customer cancels a held withdrawal and the balance and ledger show the release;
cancel after approval is 409; 16 cancel/approve pairs at once leave exactly one
winner each, and every balance equals its ledger afterwards."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_backoffice import AS_OPERATOR
from tests.e2e.test_walkthroughs import balances
from tests.support.http import Answer

pytestmark = pytest.mark.e2e
ACCOUNT = "acc-alice-usd"
PAIRS = 16


def hold(stack: LocalStack, amount: str) -> str:
    answer = stack.http.post(
        "/cashier/withdrawal",
        token=stack.token("alice"),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body={"account_id": ACCOUNT, "amount": amount, "currency": "USD"},
    )
    assert answer.status == 201, answer.body
    return str(answer.json()["transaction"]["transaction_id"])


def cancel(stack: LocalStack, transaction_id: str, who: str = "alice") -> Answer:
    return stack.http.post(f"/cashier/withdrawal/{transaction_id}/cancel", token=stack.token(who))


def approve(stack: LocalStack, transaction_id: str) -> Answer:
    return stack.http.post(
        f"/backoffice/withdrawals/{transaction_id}/approve",
        headers=AS_OPERATOR,
        body={"payout_reference": f"PO-{transaction_id[:8]}"},
    )


def ledger_kinds(stack: LocalStack, transaction_id: str) -> list[str]:
    items = stack.aws("dynamodb").query(
        TableName=stack.resources["tables"]["AccountsTable"],
        KeyConditionExpression="account_id = :a AND begins_with(sk, :p)",
        ExpressionAttributeValues={":a": {"S": ACCOUNT}, ":p": {"S": f"LEDGER#{transaction_id}#"}},
        ConsistentRead=True,
    )["Items"]
    return sorted(item["kind"]["S"] for item in items)


def balance(stack: LocalStack) -> Decimal:
    return balances(stack)[ACCOUNT][0]


def assert_balances_equal_ledgers(stack: LocalStack) -> None:
    assert {k: v for k, v in balances(stack).items() if v[0] != v[1]} == {}


def test_a_customer_cancels_a_held_withdrawal_and_gets_the_funds_back(stack: LocalStack) -> None:
    before = balance(stack)
    withdrawal = hold(stack, "3.00")
    assert balance(stack) == before - Decimal("3.00")

    cancelled = cancel(stack, withdrawal)
    assert cancelled.status == 200, cancelled.body
    body: dict[str, Any] = cancelled.json()
    assert (body["applied"], body["transaction"]["status"]) == (True, 6)
    assert body["transaction"]["history"][-1]["reason"] == "withdrawal_cancelled"
    assert balance(stack) == before
    assert ledger_kinds(stack, withdrawal) == ["hold_release", "withdrawal_hold"]

    again = cancel(stack, withdrawal)
    assert (again.status, again.json()["applied"]) == (200, False)
    assert again.json()["transaction"] == body["transaction"]
    assert balance(stack) == before
    assert_balances_equal_ledgers(stack)


def test_cancel_after_approval_is_409_and_a_foreign_id_is_404(stack: LocalStack) -> None:
    withdrawal = hold(stack, "2.00")
    assert approve(stack, withdrawal).status == 200
    after_approval = cancel(stack, withdrawal)
    assert (after_approval.status, after_approval.code) == (409, "invalid_transition")

    other = hold(stack, "2.00")
    foreign = cancel(stack, other, who="mallory")
    missing = cancel(stack, "wd-no-such-withdrawal", who="mallory")
    assert (foreign.status, foreign.code) == (404, "transaction_not_found")
    assert foreign.body == missing.body
    assert cancel(stack, other).status == 200  # still Alice's to cancel
    assert_balances_equal_ledgers(stack)


def test_16_cancel_and_approve_pairs_at_once_have_one_winner_each(stack: LocalStack) -> None:
    before = balance(stack)
    withdrawals = [hold(stack, "1.00") for _ in range(PAIRS)]
    calls = [(kind, w) for w in withdrawals for kind in ("cancel", "approve")]

    def send(call: tuple[str, str]) -> tuple[str, str, Answer]:
        kind, withdrawal = call
        answer = cancel(stack, withdrawal) if kind == "cancel" else approve(stack, withdrawal)
        return kind, withdrawal, answer

    with ThreadPoolExecutor(2 * PAIRS) as pool:
        results = list(pool.map(send, calls))

    approved = 0
    for withdrawal in withdrawals:
        answers = {kind: answer for kind, w, answer in results if w == withdrawal}
        won = [
            kind
            for kind, answer in answers.items()
            if answer.status == 200 and answer.json()["applied"] is True
        ]
        assert len(won) == 1, {k: (a.status, a.body) for k, a in answers.items()}
        [loser] = [kind for kind in answers if kind not in won]
        lost = answers[loser]
        assert lost.status == 409 or (lost.status == 200 and lost.json()["applied"] is False)
        kinds = ledger_kinds(stack, withdrawal)
        if won == ["approve"]:
            approved += 1
            assert kinds == ["withdrawal_hold"]
        else:
            assert kinds == ["hold_release", "withdrawal_hold"]
    assert balance(stack) == before - approved * Decimal("1.00")
    assert_balances_equal_ledgers(stack)
