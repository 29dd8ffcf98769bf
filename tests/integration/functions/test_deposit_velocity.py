"""The per-customer cap on deposits per minute (cashier_core/velocity.py),
through the real CreateCashierDeposit handler against moto."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from cashier_core import velocity
from cashier_core.clock import utc_now
from cashier_core.deposits import DepositRequest, create_deposit
from cashier_core.errors import DepositRateLimited
from cashier_local.events import api_event, authorizer_context
from tests.support.customer_api import CustomerApi
from tests.support.lambdas import invoke, load_function, reply

ALICE, MALLORY = "cus-alice", "cus-mallory"
DEPOSIT = {"account_id": "acc-alice-usd", "method_id": "card-sandbox", "currency": "USD"}
CAP = 3
FUNCTION = "CreateCashierDepositFunction"


@pytest.fixture
def api_capped(api: CustomerApi, monkeypatch: pytest.MonkeyPatch) -> CustomerApi:
    monkeypatch.setenv(velocity.DEPOSITS_PER_MINUTE_VARIABLE, str(CAP))
    return api


def _on_clock(module: ModuleType, moment: datetime) -> ModuleType:
    # The cap counts per UTC minute of the cashier's clock; a fixed moment keeps
    # every request of a test inside one minute however slow the machine is.
    module.cashier.clock = lambda: moment
    return module


def _event(customer_id: str, brand_id: str, key: str, amount: str) -> dict[str, Any]:
    return api_event(
        method="POST",
        resource="/cashier/deposit",
        path="/cashier/deposit",
        headers=[("Content-Type", "application/json"), ("Idempotency-Key", key)],
        body=json.dumps({**DEPOSIT, "amount": amount}).encode(),
        authorizer=authorizer_context(customer_id, brand_id),
    )


def _deposit(
    api: CustomerApi, module: ModuleType, key: str | None = None, amount: str = "25.00"
) -> tuple[int, dict[str, Any]]:
    event = _event(ALICE, api.brand_of(ALICE), key or f"key-{uuid.uuid4().hex}", amount)
    return reply(invoke(module, event, FUNCTION))


def _used(api: CustomerApi, customer_id: str, moment: datetime) -> int:
    item = api.aws.dynamodb.get_item(
        TableName=api.aws.tables.rate_limits,
        Key={"counter_id": {"S": velocity.deposit_counter_id(customer_id, moment)}},
        ConsistentRead=True,
    ).get("Item")
    return int(item["used"]["N"]) if item else 0


def test_deposits_past_the_cap_answer_429_and_write_nothing(api_capped: CustomerApi) -> None:
    moment = utc_now().replace(second=30, microsecond=0)
    module = _on_clock(api_capped.module(FUNCTION), moment)
    for _ in range(CAP):
        assert _deposit(api_capped, module)[0] == 201

    status, body = _deposit(api_capped, module, key="refused-key-0001")
    assert status == 429
    assert body == {
        "error": {
            "code": "deposit_rate_limited",
            "message": "Too many deposits this minute; retry in a minute.",
        }
    }
    assert len(api_capped.transactions_of(ALICE)) == CAP
    assert _used(api_capped, ALICE, moment) == CAP  # a refusal takes no slot

    # The refusal was not stored under its Idempotency-Key: the same request,
    # retried in the next minute, is a new deposit.
    _on_clock(module, moment + timedelta(minutes=1))
    assert _deposit(api_capped, module, key="refused-key-0001")[0] == 201
    assert len(api_capped.transactions_of(ALICE)) == CAP + 1


def test_the_cap_is_per_customer(api_capped: CustomerApi) -> None:
    moment = utc_now().replace(second=30, microsecond=0)
    module = _on_clock(api_capped.module(FUNCTION), moment)
    for _ in range(CAP):
        assert _deposit(api_capped, module)[0] == 201
    assert _deposit(api_capped, module)[0] == 429
    # Another customer is not held back by Alice's minute.
    mallory_account = next(a for a in api_capped.seed.accounts if a.customer_id == MALLORY)
    status, body = api_capped.deposit(
        MALLORY,
        {
            "account_id": mallory_account.account_id,
            "method_id": "card-sandbox",
            "amount": "25.00",
            "currency": mallory_account.currency,
        },
    )
    assert status == 201, body
    assert _used(api_capped, MALLORY, moment) == 1


def test_a_replayed_deposit_is_answered_without_taking_a_slot(api_capped: CustomerApi) -> None:
    moment = utc_now().replace(second=30, microsecond=0)
    module = _on_clock(api_capped.module(FUNCTION), moment)
    first = _deposit(api_capped, module, key="replayed-key-0001")
    assert first[0] == 201
    for _ in range(CAP + 2):  # the stored answer, not a new deposit
        assert _deposit(api_capped, module, key="replayed-key-0001") == first
    assert _used(api_capped, ALICE, moment) == 1


def test_concurrent_deposits_never_exceed_the_cap(
    api_capped: CustomerApi, atomic_moto: None
) -> None:
    requests = 4 * CAP
    moment = utc_now().replace(second=30, microsecond=0)
    # One container per request, as Lambda runs concurrent requests in separate
    # containers. They race in create_deposit, not through lambda_handler:
    # Powertools keeps the resolver's current event on the BaseRouter class, so
    # handlers in threads of one process read each other's events (headers,
    # Idempotency-Key, body); in Lambda each container is its own process.
    containers = [_on_clock(load_function(FUNCTION), moment) for _ in range(requests)]
    start = threading.Barrier(requests)

    def one(index: int) -> str:
        container = containers[index]
        request = DepositRequest(
            customer_id=ALICE,
            account_id=DEPOSIT["account_id"],
            method_id=DEPOSIT["method_id"],
            amount=f"{20 + index}.00",  # each is its own request, not a retry
            currency=DEPOSIT["currency"],
            return_url=None,
            idempotency_key=f"key-{uuid.uuid4().hex}",
        )
        start.wait()
        try:
            create_deposit(container.cashier, request, webhook_base_url=container.WEBHOOK_BASE_URL)
        except DepositRateLimited:
            return "refused"
        return "created"

    with ThreadPoolExecutor(max_workers=requests) as pool:
        outcomes = Counter(pool.map(one, range(requests)))

    assert outcomes == {"created": CAP, "refused": requests - CAP}
    assert len(api_capped.transactions_of(ALICE)) == CAP
    assert _used(api_capped, ALICE, moment) == CAP
