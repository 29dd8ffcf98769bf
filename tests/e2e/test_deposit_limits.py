"""Deposit limits over real HTTP against the local stack: the methods answer
with what remains, a deposit past the limit is refused with its period, a
failure gives its share back, a CRM override and a self-limit apply, 16
deposits at once accept exactly what fits, and BackOffice's recompute agrees
with the counters.

Each test gets its own customer (written into the stack's tables, with its own
session), so the suites sharing the stack never steer each other's limits."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cashier_core.limits import Period, Usage, window
from cashier_core.models import (
    CrmOverrides,
    CustomerRecord,
    DepositLimits,
    PeriodLimit,
    TradingAccount,
)
from cashier_core.sessions import SESSION_CUSTOMER, CustomerSession, hash_session_token
from cashier_core.storage.limits import DepositLimitStore
from cashier_core.storage.records import AccountStore, CustomerStore
from cashier_core.storage.sessions import SessionStore
from cashier_providers import signing
from tests.e2e.conftest import LocalStack
from tests.e2e.test_backoffice import operate, wait_for
from tests.e2e.test_walkthroughs import press

pytestmark = pytest.mark.e2e


class Customer:
    """A brand-alpha customer with one USD account and a session of its own."""

    def __init__(
        self,
        stack: LocalStack,
        *,
        self_limits: dict[str, DepositLimits] | None = None,
        crm: CrmOverrides | None = None,
    ) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.stack = stack
        self.customer_id, self.account_id = f"cus-limits-{suffix}", f"acc-limits-{suffix}"
        self.token = f"e2e-limits-session-{suffix}"
        tables = stack.resources["tables"]
        dynamodb = stack.aws("dynamodb")
        CustomerStore(dynamodb, tables["CustomersTable"]).put(
            CustomerRecord(
                customer_id=self.customer_id,
                brand_id="brand-alpha",
                country="DE",
                self_limits=self_limits or {},
                crm_overrides=crm or CrmOverrides(),
            )
        )
        account = TradingAccount(
            account_id=self.account_id,
            customer_id=self.customer_id,
            brand_id="brand-alpha",
            currency="USD",
        )
        AccountStore(dynamodb, tables["AccountsTable"]).create(account, datetime.now(UTC))
        SessionStore(dynamodb, tables["SessionsTable"]).put(
            CustomerSession(
                token_hash=hash_session_token(self.token),
                customer_id=self.customer_id,
                brand_id="brand-alpha",
                type=SESSION_CUSTOMER,
                expires_at=datetime(2099, 1, 1, tzinfo=UTC),
            )
        )
        self.counters = DepositLimitStore(
            dynamodb, tables["RateLimitsTable"], tables["TransactionsTable"]
        )

    def methods(self, explain: bool = False) -> dict[str, Any]:
        query = {"account_id": self.account_id, **({"explain": "true"} if explain else {})}
        answer = self.stack.http.get("/cashier/methods", token=self.token, query=query)
        assert answer.status == 200, answer.body
        result: dict[str, Any] = answer.json()
        return result

    def deposit(self, amount: str) -> tuple[int, dict[str, Any]]:
        answer = self.stack.http.post(
            "/cashier/deposit",
            token=self.token,
            headers={"Idempotency-Key": f"e2e-limits-{uuid.uuid4().hex}"},
            body={"account_id": self.account_id, "method_id": "card-sandbox", "amount": amount,
                  "currency": "USD", "return_url": "https://alpha.example/cashier/return"},
        )  # fmt: skip
        return answer.status, answer.json()

    def today(self) -> Usage:
        key = window(Period.DAILY, datetime.now(UTC)).counter_key
        return self.counters.usage(self.customer_id, "USD", [key]).get(key, Usage())


def _daily(methods: dict[str, Any]) -> dict[str, Any]:
    return next(limit for limit in methods["deposit_limits"] if limit["period"] == "daily")


def _sandbox(methods: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in methods["methods"] if m["method_id"] == "card-sandbox")


A_DAY_OF_100 = {"USD": DepositLimits(daily=PeriodLimit(amount=Decimal("100.00")))}


def test_a_limit_is_explained_then_reached_and_refused(stack: LocalStack) -> None:
    customer = Customer(stack, self_limits=A_DAY_OF_100)
    methods = customer.methods()
    assert (_daily(methods)["limit_amount"], _daily(methods)["remaining_amount"]) == (
        "100.00",
        "100.00",
    )
    assert _sandbox(methods)["max_amount"] == "100.00"

    status, body = customer.deposit("80.00")
    assert status == 201, body
    methods = customer.methods()
    assert _daily(methods)["used_amount"] == "80.00"
    assert _sandbox(methods)["max_amount"] == "20.00"

    status, body = customer.deposit("50.00")
    assert status == 422, body
    assert body["error"]["code"] == "deposit_limit_exceeded"
    limit = body["error"]["limit"]
    assert (limit["period"], limit["limit_amount"], limit["remaining_amount"]) == (
        "daily",
        "100.00",
        "20.00",
    )
    assert limit["resets_at"] == window(Period.DAILY, datetime.now(UTC)).resets_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert customer.today() == Usage(Decimal("80.00"), 1)

    assert customer.deposit("15.00")[0] == 201  # 5.00 left: below every minimum
    explained = customer.methods(explain=True)
    assert "card-sandbox" not in {m["method_id"] for m in explained["methods"]}
    assert {e["method_id"]: e["reason"] for e in explained["excluded"]}[
        "card-sandbox"
    ] == "limit_reached"


def test_a_failed_payment_gives_its_share_back(stack: LocalStack) -> None:
    customer = Customer(stack, self_limits=A_DAY_OF_100)
    status, created = customer.deposit("90.00")
    assert status == 201, created
    assert customer.deposit("20.00")[0] == 422
    press(stack, created, "fail")  # the declined test card: the payment fails
    wait_for(stack, created["transaction"]["transaction_id"], "failed")
    assert customer.today() == Usage(Decimal("0.00"), 0)
    assert _daily(customer.methods())["remaining_amount"] == "100.00"
    assert customer.deposit("100.00")[0] == 201


def test_a_crm_override_replaces_the_brand_s_limit(stack: LocalStack) -> None:
    lower = CrmOverrides(deposit_limits={"USD": DepositLimits(daily=PeriodLimit(count=1))})
    customer = Customer(stack, crm=lower)
    daily = _daily(customer.methods())
    # The CRM's daily period replaces the brand's (50000.00 and 100) as a whole.
    assert (daily["limit_amount"], daily["limit_count"]) == (None, 1)
    assert customer.deposit("10.00")[0] == 201
    status, body = customer.deposit("10.00")
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded")
    assert body["error"]["limit"]["remaining_count"] == 0

    higher = CrmOverrides(
        deposit_limits={"USD": DepositLimits(daily=PeriodLimit(amount=Decimal("90000.00")))}
    )
    raised = _daily(Customer(stack, crm=higher).methods())
    assert (raised["limit_amount"], raised["limit_count"]) == ("90000.00", None)


def test_a_self_limit_lowers_and_never_raises(stack: LocalStack) -> None:
    own = {"USD": DepositLimits(daily=PeriodLimit(amount=Decimal("75.00"), count=500))}
    daily = _daily(Customer(stack, self_limits=own).methods())
    assert (daily["limit_amount"], daily["limit_count"]) == ("75.00", 100)


def test_16_deposits_at_once_accept_exactly_what_fits(stack: LocalStack) -> None:
    customer = Customer(stack, self_limits=A_DAY_OF_100)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: customer.deposit("30.00"), range(16)))
    outcomes = Counter(
        "created" if status == 201 else body["error"]["code"] for status, body in answers
    )
    assert outcomes == {"created": 3, "deposit_limit_exceeded": 13}
    created = [body["transaction"] for status, body in answers if status == 201]
    counted = sum((Decimal(t["amount"]) for t in created), Decimal(0))
    assert customer.today() == Usage(counted, 3)

    report = operate(
        stack, "POST", f"/backoffice/customers/{customer.customer_id}/deposit-limits/reconcile"
    )
    assert report.status == 200, report.body
    assert report.json()["balanced"] is True
    daily = next(c for c in report.json()["counters"] if c["period"] == "daily")
    assert (daily["counter_amount"], daily["recomputed_amount"]) == ("90.00", "90.00")


def test_a_signed_failure_delivered_twice_gives_back_once(stack: LocalStack) -> None:
    customer = Customer(stack, self_limits=A_DAY_OF_100)
    assert customer.deposit("40.00")[0] == 201
    status, created = customer.deposit("60.00")
    assert status == 201
    transaction = created["transaction"]
    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/sandbox"][
        "webhook_secrets"
    ][0]
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": transaction["transaction_id"],
                       "status": "failed", "amount": transaction["amount"],
                       "currency": transaction["currency"]}).encode()  # fmt: skip
    headers = {"X-Sandbox-Signature": signing.sign(body, secret, int(time.time()))}
    for _ in range(2):
        answer = stack.http.post("/cashier/webhook/sandbox", body=body, headers=headers)
        assert answer.status == 200, answer.body
    assert customer.today() == Usage(Decimal("40.00"), 1)


def test_the_readme_walkthrough_frank_s_self_limit(stack: LocalStack) -> None:
    """README "Walkthrough: a deposit limit, explained and reached", with the seed's Frank."""
    token = stack.token("frank (self-set deposit limit: 100.00 USD a day)")
    query = {"account_id": "acc-frank-usd"}

    def methods() -> dict[str, Any]:
        answer = stack.http.get("/cashier/methods", token=token, query=query)
        assert answer.status == 200, answer.body
        result: dict[str, Any] = answer.json()
        return result

    def deposit(amount: str, key: str) -> tuple[int, dict[str, Any]]:
        answer = stack.http.post(
            "/cashier/deposit",
            token=token,
            headers={"Idempotency-Key": key},
            body={"account_id": "acc-frank-usd", "method_id": "card-sandbox", "amount": amount,
                  "currency": "USD"},
        )  # fmt: skip
        return answer.status, answer.json()

    first = methods()
    assert _daily(first)["limit_amount"] == "100.00"
    assert _sandbox(first)["max_amount"] == "100.00"
    assert deposit("80.00", "readme-limit-0001")[0] == 201
    assert _sandbox(methods())["max_amount"] == "20.00"
    status, body = deposit("50.00", "readme-limit-0002")
    assert status == 422
    now = datetime.now(UTC)
    resets = window(Period.DAILY, now).resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body == {
        "error": {
            "code": "deposit_limit_exceeded",
            "message": "This deposit would exceed your daily deposit limit: "
            f"20.00 USD remains until {resets}.",
            "limit": {
                "period": "daily",
                "period_key": window(Period.DAILY, now).key,
                "currency": "USD",
                "limit_amount": "100.00",
                "limit_count": 100,
                "used_amount": "80.00",
                "used_count": 1,
                "remaining_amount": "20.00",
                "remaining_count": 99,
                "resets_at": resets,
            },
        }
    }
