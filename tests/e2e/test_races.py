"""Races over real HTTP against the local stack: the same webhook 32 times at
once, one credit message redelivered 32 times, 16 withdrawals that together
exceed the balance, and 16 deposits with one Idempotency-Key."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from cashier_core.credit_queue import message_body
from cashier_core.statuses import Status
from cashier_core.storage.tables import TableNames
from cashier_core.storage.transactions import TransactionStore
from cashier_providers import signing
from tests.e2e.conftest import LocalStack
from tests.e2e.test_backoffice import AS_OPERATOR, wait_for
from tests.e2e.test_walkthroughs import balances

pytestmark = pytest.mark.e2e


def at_once(count: int, call: Any) -> list[Any]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def credit_entries(stack: LocalStack, account: str, transaction_id: str) -> int:
    items = stack.aws("dynamodb").query(
        TableName=stack.resources["tables"]["AccountsTable"],
        KeyConditionExpression="account_id = :a AND begins_with(sk, :p)",
        ExpressionAttributeValues={
            ":a": {"S": account},
            ":p": {"S": f"LEDGER#{transaction_id}#credit"},
        },
        ConsistentRead=True,
    )["Items"]
    return len(items)


def queue_settled(stack: LocalStack, timeout: float = 20) -> None:
    sqs = stack.aws("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.resources["queues"]["CreditQueue"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if not int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        ):
            return
        time.sleep(0.2)
    raise AssertionError("the credit queue did not drain")


def deposit(stack: LocalStack, amount: str, key: str | None = None) -> tuple[int, bytes]:
    answer = stack.http.post(
        "/cashier/deposit",
        token=stack.token("alice"),
        headers={"Idempotency-Key": key or f"race-{uuid.uuid4().hex}"},
        body={"account_id": "acc-alice-eur", "method_id": "card-sandbox", "amount": amount, "currency": "EUR"},
    )  # fmt: skip
    return answer.status, answer.body


def signed_success(stack: LocalStack, transaction: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/sandbox"][
        "webhook_secrets"
    ][0]
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": transaction["transaction_id"],
                       "status": "succeeded", "amount": transaction["amount"],
                       "currency": transaction["currency"]}).encode()  # fmt: skip
    return body, {"X-Sandbox-Signature": signing.sign(body, secret, int(time.time()))}


def test_32_deliveries_of_one_webhook_at_once_credit_once(stack: LocalStack) -> None:
    before = balances(stack)["acc-alice-eur"][0]
    status, raw = deposit(stack, "32.00")
    assert status == 201
    transaction = json.loads(raw)["transaction"]
    body, headers = signed_success(stack, transaction)

    answers = at_once(
        32, lambda: stack.http.post("/cashier/webhook/sandbox", body=body, headers=headers)
    )

    assert {a.status for a in answers} == {200}, {a.body for a in answers}
    wait_for(stack, transaction["transaction_id"], "credited")
    queue_settled(stack)
    assert credit_entries(stack, "acc-alice-eur", transaction["transaction_id"]) == 1
    assert balances(stack)["acc-alice-eur"][0] == before + Decimal("32.00")


def test_32_redeliveries_of_one_credit_message_credit_once(stack: LocalStack) -> None:
    before = balances(stack)["acc-alice-eur"][0]
    _, raw = deposit(stack, "16.00")
    transaction = json.loads(raw)["transaction"]
    # Into review (amount mismatch), then BackOffice confirms it: one message is queued.
    body, headers = signed_success(stack, {**transaction, "amount": "15.00"})
    assert stack.http.post("/cashier/webhook/sandbox", body=body, headers=headers).status == 200
    wait_for(stack, transaction["transaction_id"], "manual_review")
    resolved = stack.http.post(f"/backoffice/deposits/{transaction['transaction_id']}/resolve",
                               headers=AS_OPERATOR, body={"decision": "credit", "reason": "race test"})  # fmt: skip
    assert resolved.status == 200, resolved.body
    store = TransactionStore(
        stack.aws("dynamodb"),
        TableNames(transactions=stack.resources["tables"]["TransactionsTable"]),
    )
    current = store.get(transaction["transaction_id"])
    confirmed = current
    if current.status is Status.CREDITED:  # the worker was quicker: the message as it was sent
        confirmed = current.model_copy(
            update={"status": Status.PROVIDER_CONFIRMED, "version": current.version - 1,
                    "history": current.history[:-1]}
        )  # fmt: skip
    sqs = stack.aws("sqs")
    for start in range(0, 32, 10):
        sqs.send_message_batch(
            QueueUrl=stack.resources["queues"]["CreditQueue"],
            Entries=[{"Id": str(i), "MessageBody": message_body(confirmed)} for i in range(start, min(start + 10, 32))],
        )  # fmt: skip

    wait_for(stack, transaction["transaction_id"], "credited")
    queue_settled(stack)
    assert credit_entries(stack, "acc-alice-eur", transaction["transaction_id"]) == 1
    assert balances(stack)["acc-alice-eur"][0] == before + Decimal("16.00")


def test_16_withdrawals_at_once_never_overdraw(stack: LocalStack) -> None:
    # Bob has 40.00: 16 withdrawals of 5.00 ask for 80.00.
    start = balances(stack)["acc-bob-usd"][0]
    answers = at_once(
        16,
        lambda: stack.http.post(
            "/cashier/withdrawal",
            token=stack.token("bob (deposits not allowed)"),
            headers={"Idempotency-Key": f"race-{uuid.uuid4().hex}"},
            body={"account_id": "acc-bob-usd", "amount": "5.00", "currency": "USD"},
        ),
    )
    held = [a for a in answers if a.status == 201]
    refused = [a for a in answers if a.status != 201]
    assert len(held) == int(start // Decimal("5.00"))
    assert {(a.status, a.code) for a in refused} == {(422, "insufficient_funds")}
    balance, ledger = balances(stack)["acc-bob-usd"]
    assert balance == ledger == start - Decimal("5.00") * len(held)
    assert balance >= 0


def test_16_deposits_with_one_idempotency_key_make_one_deposit_and_one_answer(
    stack: LocalStack,
) -> None:
    key = f"race-same-{uuid.uuid4().hex}"
    answers = at_once(16, lambda: deposit(stack, "12.00", key=key))
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1
    transaction_id = json.loads(answers[0][1])["transaction"]["transaction_id"]
    history = stack.http.get("/cashier/transactions", token=stack.token("alice"),
                             query={"account_id": "acc-alice-eur", "limit": "100"}).json()  # fmt: skip
    same = [t for t in history["transactions"] if t["amount"] == "12.00"]
    assert [t["transaction_id"] for t in same] == [transaction_id]
