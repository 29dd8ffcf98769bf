"""The README's walkthroughs, over real HTTP against the running local stack."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from cashier_providers import signing
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
ALICE = "alice"


def deposit(
    stack: LocalStack, amount: str = "25.00", account: str = "acc-alice-usd", currency: str = "USD"
) -> dict[str, Any]:
    answer = stack.http.post(
        "/cashier/deposit",
        token=stack.token(ALICE),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body={"account_id": account, "method_id": "card-sandbox", "amount": amount, "currency": currency,
              "return_url": "https://alpha.example/cashier/return"},
    )  # fmt: skip
    assert answer.status == 201, answer.body
    result: dict[str, Any] = answer.json()
    return result


# The hosted page's test cards, as a person would type them.
CARDS = {"pay": "4242 4242 4242 4242", "fail": "4000 0000 0000 0002"}


def press(stack: LocalStack, created: dict[str, Any], button: str) -> None:
    """Open the hosted page from the redirect and pay with a test card, or cancel."""
    page = stack.http.get(created["redirect_url"])
    assert page.status == 200
    html = page.body.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action is not None
    fields = dict(re.findall(r'name="(transaction_id|return_url)" value="([^"]*)"', html))
    if button == "cancel":
        form = {**fields, "action": "cancel"}
    else:
        form = {**fields, "action": "pay", "card_number": CARDS[button], "expiry": "12 / 34",
                "cvc": "123", "cardholder": "Alice Test"}  # fmt: skip
    pressed = stack.http.post(action.group(1), form=form)
    assert pressed.status == 303
    # alpha.example does not resolve here: the stack's own return page shows the result.
    assert pressed.headers["Location"].startswith("/_sandbox/return/")
    assert (
        "return_url=https%3A%2F%2Falpha.example%2Fcashier%2Freturn" in pressed.headers["Location"]
    )


def status_of(
    stack: LocalStack, transaction_id: str, wanted: int, timeout: float = 15
) -> dict[str, Any]:
    """Poll the customer's own history until the transaction reaches `wanted`."""
    deadline = time.monotonic() + timeout
    while True:
        history = stack.http.get(
            "/cashier/transactions", token=stack.token(ALICE), query={"limit": "100"}
        ).json()
        found = next(t for t in history["transactions"] if t["transaction_id"] == transaction_id)
        if found["status"] == wanted or time.monotonic() > deadline:
            assert found["status"] == wanted, found
            return dict(found)
        time.sleep(0.2)


def balances(stack: LocalStack) -> dict[str, tuple[Decimal, Decimal]]:
    dynamodb = stack.aws("dynamodb")
    table = stack.resources["tables"]["AccountsTable"]
    accounts: dict[str, Decimal] = {}
    ledger: dict[str, Decimal] = defaultdict(Decimal)
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            if item["sk"]["S"] == "ACCOUNT":
                accounts[item["account_id"]["S"]] = Decimal(item["balance"]["N"])
            else:
                ledger[item["account_id"]["S"]] += Decimal(item["amount"]["N"])
    return {account: (balance, ledger[account]) for account, balance in accounts.items()}


def balance(stack: LocalStack, account: str = "acc-alice-usd") -> Decimal:
    return balances(stack)[account][0]


def test_deposit_walkthrough_ends_credited_through_the_hosted_pages_webhook(
    stack: LocalStack,
) -> None:
    methods = stack.http.get(
        "/cashier/methods", token=stack.token(ALICE), query={"account_id": "acc-alice-usd"}
    )
    assert methods.status == 200
    assert "card-sandbox" in [m["method_id"] for m in methods.json()["methods"]]
    before = balance(stack)
    created = deposit(stack)
    assert created["transaction"]["status_name"] == "pending_payment"
    press(stack, created, "pay")
    credited = status_of(stack, created["transaction"]["transaction_id"], 3)
    assert [h["status_name"] for h in credited["history"]] == [
        "created",
        "pending_payment",
        "provider_confirmed",
        "credited",
    ]
    assert balance(stack) == before + Decimal("25.00")


@pytest.mark.parametrize(("button", "status"), [("fail", 5), ("cancel", 6)])
def test_a_failed_or_cancelled_payment_credits_nothing(
    stack: LocalStack, button: str, status: int
) -> None:
    before = balance(stack)
    created = deposit(stack)
    press(stack, created, button)
    status_of(stack, created["transaction"]["transaction_id"], status)
    assert balance(stack) == before


def test_a_refund_after_credit_reverses_it(stack: LocalStack) -> None:
    before = balance(stack)
    created = deposit(stack, amount="40.00")
    press(stack, created, "pay")
    transaction_id = created["transaction"]["transaction_id"]
    status_of(stack, transaction_id, 3)
    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/sandbox"][
        "webhook_secrets"
    ][0]
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": transaction_id,
                       "status": "refunded", "amount": "40.00", "currency": "USD"}).encode()  # fmt: skip
    answer = stack.http.post("/cashier/webhook/sandbox", body=body,
                             headers={"X-Sandbox-Signature": signing.sign(body, secret, int(time.time()))})  # fmt: skip
    assert answer.status == 200
    status_of(stack, transaction_id, 7)
    assert balance(stack) == before


def test_withdrawal_walkthrough_holds_the_funds(stack: LocalStack) -> None:
    before = balance(stack)
    answer = stack.http.post(
        "/cashier/withdrawal",
        token=stack.token(ALICE),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body={"account_id": "acc-alice-usd", "amount": "10.00", "currency": "USD"},
    )
    assert answer.status == 201, answer.body
    assert (
        answer.json()["transaction"]["status"],
        answer.json()["transaction"]["status_name"],
    ) == (9, "manual_review")
    assert balance(stack) == before - Decimal("10.00")


@pytest.mark.parametrize(
    "token",
    [None, "not-a-token", "demo-alice-expired-session-0007", "demo-alice-admin-session-0008"],
)
def test_the_gateway_answers_401_before_any_handler(stack: LocalStack, token: str | None) -> None:
    answer = stack.http.get("/cashier/methods", token=token, query={"account_id": "acc-alice-usd"})
    assert (answer.status, answer.code) == (401, "unauthorized")


def test_unknown_routes_and_oversized_bodies_get_json_errors(stack: LocalStack) -> None:
    assert (stack.http.get("/cashier/nowhere").status, stack.http.get("/cashier/nowhere").code) == (
        404,
        "route_not_found",
    )
    too_big = stack.http.post("/cashier/deposit", token=stack.token(ALICE), headers={"Idempotency-Key": "too-big-0001"},
                              body=b'{"pad": "' + b"x" * 20000 + b'"}')  # fmt: skip
    assert (too_big.status, too_big.code) == (413, "body_too_large")


def test_the_resource_map_names_every_table_and_queue(stack: LocalStack) -> None:
    assert set(stack.resources["tables"]) >= {
        "TransactionsTable",
        "AccountsTable",
        "WebhookDeliveriesTable",
    }
    assert set(stack.resources["queues"]) == {"CreditQueue", "CreditDeadLetterQueue"}
    names = stack.aws("dynamodb").list_tables()["TableNames"]
    assert set(stack.resources["tables"].values()) <= set(names)


def test_every_balance_equals_its_ledger_after_the_walkthroughs(stack: LocalStack) -> None:
    mismatched = {k: v for k, v in balances(stack).items() if v[0] != v[1]}
    assert mismatched == {}
