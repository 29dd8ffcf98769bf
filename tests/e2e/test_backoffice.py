"""Every BackOffice operation over real HTTP against the running local stack,
with the development principal header standing in for SigV4 on loopback.

Concurrent repeats of one operation have one effect, and after each test every
account's balance equals the sum of its ledger entries."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from cashier_core.credit_queue import message_body
from cashier_core.statuses import Status
from cashier_core.storage.tables import TableNames
from cashier_core.storage.transactions import TransactionStore
from cashier_local.template import REPO_ROOT
from cashier_providers import signing
from tests.e2e.conftest import LocalStack
from tests.e2e.test_walkthroughs import balances
from tests.support.http import Answer

pytestmark = pytest.mark.e2e
OPERATOR = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-e2e"
AS_OPERATOR = {"X-Cashier-Dev-Principal": OPERATOR}
CONCURRENCY = 8


@pytest.fixture(autouse=True)
def _balances_equal_ledgers(stack: LocalStack) -> Iterator[None]:
    yield
    mismatched = {k: v for k, v in balances(stack).items() if v[0] != v[1]}
    assert mismatched == {}


def operate(stack: LocalStack, method: str, path: str, body: Any = None, **query: str) -> Answer:
    return stack.http.request(method, path, body=body, headers=AS_OPERATOR, query=query or None)


def at_once(call: Any) -> list[Answer]:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda _: call(), range(CONCURRENCY)))


def customer_post(stack: LocalStack, who: str, path: str, body: dict[str, str]) -> dict[str, Any]:
    answer = stack.http.post(
        path,
        token=stack.token(who),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body=body,
    )
    assert answer.status == 201, answer.body
    return dict(answer.json()["transaction"])


def balance(stack: LocalStack, account: str) -> Decimal:
    return balances(stack)[account][0]


def wait_for(stack: LocalStack, transaction_id: str, status_name: str, timeout: float = 15) -> None:
    table = stack.resources["tables"]["TransactionsTable"]
    dynamodb = stack.aws("dynamodb")
    deadline = time.monotonic() + timeout
    while True:
        item = dynamodb.get_item(
            TableName=table, Key={"transaction_id": {"S": transaction_id}}, ConsistentRead=True
        )["Item"]
        current = int(item["status"]["N"])
        names = ["created", "pending_payment", "provider_confirmed", "credited", "credit_failed",
                 "failed", "cancelled", "refunded", "chargeback", "manual_review"]  # fmt: skip
        if names[current] == status_name:
            return
        assert time.monotonic() < deadline, f"{transaction_id} stayed {names[current]}"
        time.sleep(0.2)


def applied_once(stack: LocalStack, answers: list[Answer]) -> None:
    """One answer applied the action and one audit record says so; the rest saw it done."""
    assert {a.status for a in answers} == {200}, [a.body for a in answers]
    assert sorted(a.json()["applied"] for a in answers) == [False] * (CONCURRENCY - 1) + [True]
    subject = answers[0].json()["transaction"]["transaction_id"]
    records = stack.aws("dynamodb").query(
        TableName=stack.resources["tables"]["AuditTable"],
        KeyConditionExpression="subject_id = :s",
        ExpressionAttributeValues={":s": {"S": subject}},
        ConsistentRead=True,
    )["Items"]
    assert len(records) == 1
    assert records[0]["principal"]["S"] == OPERATOR


def test_without_an_operator_principal_the_gateway_refuses(stack: LocalStack) -> None:
    for headers in (
        {},
        {"Authorization": f"Bearer {stack.token('alice')}"},
        {"X-Cashier-Dev-Principal": "alice"},
        {"X-Cashier-Dev-Principal": "arn:aws:iam::123:role/short-account"},
    ):
        answer = stack.http.get("/backoffice/withdrawals", headers=headers)
        assert (answer.status, answer.code) == (403, "forbidden"), headers
    assert operate(stack, "GET", "/backoffice/nowhere").status == 403


def test_withdrawals_approve_at_once_once_then_payout_failure_releases_the_hold(
    stack: LocalStack,
) -> None:
    before = balance(stack, "acc-dan-jpy")
    held = customer_post(stack, "dan (JPY)", "/cashier/withdrawal",
                         {"account_id": "acc-dan-jpy", "amount": "1500", "currency": "JPY"})  # fmt: skip
    withdrawal = held["transaction_id"]
    listed = operate(stack, "GET", "/backoffice/withdrawals", brand_id="brand-beta").json()
    assert withdrawal in [w["transaction_id"] for w in listed["withdrawals"]]

    approve = f"/backoffice/withdrawals/{withdrawal}/approve"
    answers = at_once(lambda: operate(stack, "POST", approve, {"payout_reference": "PO-1"}))
    applied_once(stack, answers)
    assert balance(stack, "acc-dan-jpy") == before - Decimal(1500)

    refused = operate(
        stack, "POST", f"/backoffice/withdrawals/{withdrawal}/reject", {"reason": "too late"}
    )
    assert (refused.status, refused.code) == (409, "invalid_transition")
    failed = operate(stack, "POST", f"/backoffice/withdrawals/{withdrawal}/payout-failed",
                     {"reason": "bank returned it"})  # fmt: skip
    assert (failed.status, failed.json()["transaction"]["status_name"]) == (200, "failed")
    assert balance(stack, "acc-dan-jpy") == before


def test_rejecting_a_withdrawal_at_once_releases_the_hold_once(stack: LocalStack) -> None:
    before = balance(stack, "acc-dan-jpy")
    held = customer_post(stack, "dan (JPY)", "/cashier/withdrawal",
                         {"account_id": "acc-dan-jpy", "amount": "2000", "currency": "JPY"})  # fmt: skip
    reject = f"/backoffice/withdrawals/{held['transaction_id']}/reject"
    applied_once(
        stack, at_once(lambda: operate(stack, "POST", reject, {"reason": "KYC incomplete"}))
    )
    assert balance(stack, "acc-dan-jpy") == before


def sandbox_webhook(stack: LocalStack, transaction: dict[str, Any], **fields: str) -> None:
    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/sandbox"][
        "webhook_secrets"
    ][0]
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": transaction["transaction_id"],
                       "status": "succeeded", "amount": transaction["amount"],
                       "currency": transaction["currency"], **fields}).encode()  # fmt: skip
    answer = stack.http.post("/cashier/webhook/sandbox", body=body,
                             headers={"X-Sandbox-Signature": signing.sign(body, secret, int(time.time()))})  # fmt: skip
    assert answer.status == 200, answer.body


def test_a_reviewed_deposit_credited_at_once_is_credited_once(stack: LocalStack) -> None:
    before = balance(stack, "acc-alice-eur")
    deposit = customer_post(stack, "alice", "/cashier/deposit",
                            {"account_id": "acc-alice-eur", "method_id": "card-sandbox",
                             "amount": "30.00", "currency": "EUR"})  # fmt: skip
    sandbox_webhook(stack, deposit, amount="29.00")
    wait_for(stack, deposit["transaction_id"], "manual_review")
    listed = operate(stack, "GET", "/backoffice/deposits").json()["deposits"]
    [mine] = [d for d in listed if d["transaction"]["transaction_id"] == deposit["transaction_id"]]
    assert mine["transaction"]["waiting_reason"].startswith("amount mismatch")
    assert [e["raw_status"] for e in mine["provider_events"]] == ["succeeded"]

    resolve = f"/backoffice/deposits/{deposit['transaction_id']}/resolve"
    applied_once(stack, at_once(lambda: operate(stack, "POST", resolve,
                                          {"decision": "credit", "reason": "statement shows 30.00"})))  # fmt: skip
    wait_for(stack, deposit["transaction_id"], "credited")
    time.sleep(1)  # every enqueued copy has reached the worker by now
    assert balance(stack, "acc-alice-eur") == before + Decimal("30.00")


def set_account_status(stack: LocalStack, account: str, status: str) -> None:
    stack.aws("dynamodb").update_item(
        TableName=stack.resources["tables"]["AccountsTable"],
        Key={"account_id": {"S": account}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


def test_a_failed_credit_retried_at_once_is_credited_once(stack: LocalStack) -> None:
    before = balance(stack, "acc-mallory-usd")
    deposit = customer_post(stack, "mallory", "/cashier/deposit",
                            {"account_id": "acc-mallory-usd", "method_id": "card-sandbox",
                             "amount": "20.00", "currency": "USD"})  # fmt: skip
    set_account_status(stack, "acc-mallory-usd", "closed")
    try:
        sandbox_webhook(stack, deposit)
        wait_for(stack, deposit["transaction_id"], "credit_failed")
    finally:
        set_account_status(stack, "acc-mallory-usd", "open")
    retry = f"/backoffice/deposits/{deposit['transaction_id']}/retry-credit"
    applied_once(
        stack, at_once(lambda: operate(stack, "POST", retry, {"reason": "account reopened"}))
    )
    wait_for(stack, deposit["transaction_id"], "credited")
    time.sleep(1)
    assert balance(stack, "acc-mallory-usd") == before + Decimal("20.00")


def test_a_bank_wire_is_confirmed_by_reference_and_credited(stack: LocalStack) -> None:
    before = balance(stack, "acc-carol-eur")
    wire = customer_post(stack, "carol (CRM overrides)", "/cashier/deposit",
                         {"account_id": "acc-carol-eur", "method_id": "wire-eur",
                          "amount": "120.00", "currency": "EUR"})  # fmt: skip
    short = operate(stack, "POST", "/backoffice/bank-wire/confirmations",
                    {"reference": "BW-NOT-OURS", "amount": "120.00", "currency": "EUR"})  # fmt: skip
    assert (short.status, short.code) == (404, "transaction_not_found")
    confirmed = operate(stack, "POST", "/backoffice/bank-wire/confirmations",
                        {"reference": wire["provider_reference"], "amount": "120.00", "currency": "EUR"})  # fmt: skip
    assert confirmed.json()["transaction"]["status_name"] == "provider_confirmed"
    wait_for(stack, wire["transaction_id"], "credited")
    assert balance(stack, "acc-carol-eur") == before + Decimal("120.00")


@pytest.mark.parametrize(
    "account", ["acc-dan-jpy", "acc-alice-eur", "acc-mallory-usd", "acc-carol-eur"]
)
def test_every_account_touched_reconciles(stack: LocalStack, account: str) -> None:
    report = operate(stack, "POST", f"/backoffice/accounts/{account}/reconcile").json()
    assert (report["balanced"], report["difference"]) == (
        True,
        "0" if account.endswith("jpy") else "0.00",
    )


def test_make_redrive_moves_dead_letters_back_and_they_credit_once(stack: LocalStack) -> None:
    before = balance(stack, "acc-alice-eur")
    deposit = customer_post(stack, "alice", "/cashier/deposit",
                            {"account_id": "acc-alice-eur", "method_id": "card-sandbox",
                             "amount": "11.00", "currency": "EUR"})  # fmt: skip
    sandbox_webhook(stack, deposit)
    wait_for(stack, deposit["transaction_id"], "credited")
    # The credit message as the webhook enqueued it (provider_confirmed), dead-lettered.
    store = TransactionStore(
        stack.aws("dynamodb"),
        TableNames(transactions=stack.resources["tables"]["TransactionsTable"]),
    )
    credited = store.get(deposit["transaction_id"])
    confirmed = credited.model_copy(
        update={"status": Status.PROVIDER_CONFIRMED, "version": credited.version - 1,
                "history": credited.history[:-1]}
    )  # fmt: skip
    sqs = stack.aws("sqs")
    dead_letters = stack.resources["queues"]["CreditDeadLetterQueue"]
    sqs.send_message(QueueUrl=dead_letters, MessageBody=message_body(confirmed))

    result = subprocess.run(
        [sys.executable, "-m", "cashier_local.redrive"],
        cwd=REPO_ROOT,
        env=stack.command_environment(),  # finds this stack, as `make redrive` finds `make run`
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"moved": 1, "failed": 0}
    queue = stack.resources["queues"]["CreditQueue"]
    deadline = time.monotonic() + 10
    while _visible_or_in_flight(sqs, queue) and time.monotonic() < deadline:
        time.sleep(0.2)  # the poller hands it to the worker, which finds it credited
    assert not _visible_or_in_flight(sqs, queue)
    assert not _visible_or_in_flight(sqs, dead_letters)
    assert balance(stack, "acc-alice-eur") == before + Decimal("11.00")


def _visible_or_in_flight(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
