"""Deposit limits (cashier_core/limits.py) through the real handlers against
moto: GetCashierMethods explains what remains, CreateCashierDeposit refuses what
does not fit before writing anything, a failure gives its share back once and
to the period it was counted in, and BackOffice compares the counters with the
deposits."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from cashier_core.clock import utc_now
from cashier_core.deposits import DepositRequest, create_deposit
from cashier_core.errors import DepositLimitExceeded
from cashier_core.limits import Period, Usage, window
from cashier_core.models import CrmOverrides, CustomerRecord, DepositLimits, PeriodLimit
from cashier_core.statuses import Status
from cashier_core.storage.limits import DepositLimitStore, limit_counter_id
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lambdas import load_function
from tests.support.lifecycle import Lifecycle

FRANK, FRANK_USD = "cus-frank", "acc-frank-usd"  # self-limit: 100.00 USD a day, 5 a week
DEPOSIT_FUNCTION = "CreateCashierDepositFunction"


def _body(amount: str, account_id: str = FRANK_USD, currency: str = "USD") -> dict[str, str]:
    return {
        "account_id": account_id,
        "method_id": "card-sandbox",
        "amount": amount,
        "currency": currency,
    }


def _store(api: CustomerApi) -> DepositLimitStore:
    return DepositLimitStore(
        api.aws.dynamodb, api.aws.tables.rate_limits, api.aws.tables.transactions
    )


def _today(customer_id: str, api: CustomerApi, currency: str = "USD") -> Usage:
    key = window(Period.DAILY, utc_now()).counter_key
    return _store(api).usage(customer_id, currency, [key]).get(key, Usage())


def _limits(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {limit["period"]: limit for limit in body["deposit_limits"]}


def _method(body: dict[str, Any], method_id: str = "card-sandbox") -> dict[str, Any]:
    return next(m for m in body["methods"] if m["method_id"] == method_id)


def _put_customer(api: CustomerApi, customer: CustomerRecord) -> None:
    api.aws.customers().put(customer)


# --- explained ------------------------------------------------------------------
def test_methods_show_each_limit_and_cap_the_method_maximum_at_what_remains(
    api: CustomerApi,
) -> None:
    status, body = api.methods(FRANK, FRANK_USD)
    assert status == 200, body
    limits = _limits(body)
    today = window(Period.DAILY, utc_now())
    # The self-limit lowers the brand's 50000.00 a day; the brand's count of 100 stays.
    assert limits["daily"] == {
        "period": "daily",
        "period_key": today.key,
        "resets_at": today.resets_at.isoformat().replace("+00:00", "Z"),
        "limit_amount": "100.00",
        "limit_count": 100,
        "used_amount": "0.00",
        "used_count": 0,
        "remaining_amount": "100.00",
        "remaining_count": 100,
    }
    assert limits["weekly"]["limit_count"] == 5
    assert limits["weekly"]["limit_amount"] == "100000.00"
    assert _method(body)["max_amount"] == "100.00"  # its own is 5000.00

    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    _, body = api.methods(FRANK, FRANK_USD)
    assert _limits(body)["daily"]["used_amount"] == "80.00"
    assert _limits(body)["daily"]["remaining_amount"] == "20.00"
    assert _limits(body)["weekly"]["remaining_count"] == 4
    assert (_method(body)["min_amount"], _method(body)["max_amount"]) == ("10.00", "20.00")


def test_a_method_that_can_take_nothing_more_is_explained_as_limit_reached(
    api: CustomerApi,
) -> None:
    assert api.deposit(FRANK, _body("95.00"))[0] == 201
    # 5.00 remains, below every method's minimum (10.00): nothing can be used.
    status, body = api.methods(FRANK, FRANK_USD, explain=True)
    assert status == 200
    assert _limits(body)["daily"]["remaining_amount"] == "5.00"
    hidden = {e["method_id"]: e["reason"] for e in body["excluded"]}
    assert "card-sandbox" not in {m["method_id"] for m in body["methods"]}
    assert hidden["card-sandbox"] == "limit_reached"
    # Without explain the method is simply not listed.
    assert api.methods(FRANK, FRANK_USD)[1]["excluded"] is None


# --- refused -------------------------------------------------------------------
def test_a_deposit_past_the_limit_is_refused_with_the_period_and_nothing_is_written(
    api: CustomerApi,
) -> None:
    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    before = len(api.transactions_of(FRANK))
    status, body = api.deposit(FRANK, _body("50.00"))
    assert status == 422
    error = body["error"]
    assert error["code"] == "deposit_limit_exceeded"
    today = window(Period.DAILY, utc_now())
    assert error["limit"] == {
        "period": "daily",
        "period_key": today.key,
        "currency": "USD",
        "limit_amount": "100.00",
        "limit_count": 100,
        "used_amount": "80.00",
        "used_count": 1,
        "remaining_amount": "20.00",
        "remaining_count": 99,
        "resets_at": today.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert "20.00 USD remains" in error["message"]
    assert len(api.transactions_of(FRANK)) == before
    assert _today(FRANK, api) == Usage(Decimal("80.00"), 1)
    # What still fits is accepted.
    assert api.deposit(FRANK, _body("20.00"))[0] == 201
    assert _today(FRANK, api) == Usage(Decimal("100.00"), 2)


def test_the_limit_comes_after_the_customer_gate_and_the_method_s_own_checks(
    api: CustomerApi,
) -> None:
    assert api.deposit(FRANK, _body("100.00"))[0] == 201  # the day is used up
    status, body = api.deposit(FRANK, _body("6000.00"))
    assert (status, body["error"]["code"]) == (422, "amount_above_maximum")
    status, body = api.deposit(FRANK, _body("5.00"))
    assert (status, body["error"]["code"]) == (422, "amount_below_minimum")
    status, body = api.deposit(FRANK, {**_body("10.00"), "method_id": "no-such-method"})
    assert (status, body["error"]["code"]) == (422, "method_not_available")
    blocked = api.aws.customers().get(FRANK).model_copy(update={"deposit_allowed": False})
    _put_customer(api, blocked)
    status, body = api.deposit(FRANK, _body("10.00"))
    assert (status, body["error"]["code"]) == (403, "deposits_not_allowed")


def test_a_count_limit_refuses_the_next_deposit_whatever_its_amount(api: CustomerApi) -> None:
    for _ in range(5):
        assert api.deposit(FRANK, _body("10.00"))[0] == 201
    status, body = api.deposit(FRANK, _body("10.00"))
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded")
    assert body["error"]["limit"]["period"] == "weekly"
    assert body["error"]["limit"]["remaining_count"] == 0


def test_a_retry_of_a_created_deposit_is_answered_even_at_the_limit(api: CustomerApi) -> None:
    first = api.deposit(FRANK, _body("100.00"), key="frank-retry-0001")
    assert first[0] == 201
    assert api.deposit(FRANK, _body("100.00"), key="frank-retry-0001") == first
    assert _today(FRANK, api) == Usage(Decimal("100.00"), 1)


# --- where limits come from --------------------------------------------------------
def test_a_crm_override_replaces_the_brand_s_period_higher_or_lower(api: CustomerApi) -> None:
    # Carol's CRM raises EUR's daily limit over the brand's 50000.00 and 100.
    status, body = api.methods("cus-carol", "acc-carol-eur")
    assert status == 200, body
    daily = _limits(body)["daily"]
    assert (daily["limit_amount"], daily["limit_count"]) == ("100000.00", 200)
    assert _limits(body)["monthly"]["limit_amount"] == "250000.00"  # the brand's, untouched

    # Alice's CRM lowers USD's daily limit to a single deposit.
    alice = api.aws.customers().get("cus-alice")
    crm = CrmOverrides(deposit_limits={"USD": DepositLimits(daily=PeriodLimit(count=1))})
    _put_customer(api, alice.model_copy(update={"crm_overrides": crm}))
    assert api.deposit("cus-alice", _body("25.00", "acc-alice-usd"))[0] == 201
    status, body = api.deposit("cus-alice", _body("25.00", "acc-alice-usd"))
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded")
    assert body["error"]["limit"]["limit_count"] == 1
    assert body["error"]["limit"]["limit_amount"] is None


def test_a_self_limit_above_the_brand_s_changes_nothing(api: CustomerApi) -> None:
    alice = api.aws.customers().get("cus-alice")
    own = {"USD": DepositLimits(daily=PeriodLimit(amount=Decimal("99999.00"), count=999))}
    _put_customer(api, alice.model_copy(update={"self_limits": own}))
    _, body = api.methods("cus-alice", "acc-alice-usd")
    daily = _limits(body)["daily"]
    assert (daily["limit_amount"], daily["limit_count"]) == ("50000.00", 100)


def test_counting_is_per_customer_and_currency_across_accounts(api: CustomerApi) -> None:
    second = api.seed.accounts[0].model_copy(
        update={"account_id": "acc-frank-usd-2", "customer_id": FRANK, "balance": Decimal(0)}
    )
    api.aws.accounts().create(second, utc_now())
    assert api.deposit(FRANK, _body("60.00"))[0] == 201
    status, body = api.deposit(FRANK, _body("60.00", "acc-frank-usd-2"))
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded")
    assert body["error"]["limit"]["remaining_amount"] == "40.00"


# --- given back ------------------------------------------------------------------
def test_a_failure_gives_its_share_back_once(api: CustomerApi, lifecycle: Lifecycle) -> None:
    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    [deposit] = api.transactions_of(FRANK)
    failed = lifecycle.sandbox_body(deposit, "failed")
    assert lifecycle.sandbox_webhook(failed)[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.FAILED
    assert _today(FRANK, api) == Usage(Decimal("0.00"), 0)
    # The same failure again, or another one, gives nothing more back.
    assert lifecycle.sandbox_webhook(failed)[0] == 200
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "failed"))[0] == 200
    assert _today(FRANK, api) == Usage(Decimal("0.00"), 0)
    assert lifecycle.transaction(deposit.transaction_id).counted_released
    assert api.deposit(FRANK, _body("100.00"))[0] == 201


def test_a_refund_gives_nothing_back(api: CustomerApi, lifecycle: Lifecycle) -> None:
    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    [deposit] = api.transactions_of(FRANK)
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    lifecycle.run_worker(lifecycle.receive())
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "refunded"))[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    assert _today(FRANK, api) == Usage(Decimal("80.00"), 1)


def test_a_deposit_failing_the_next_day_gives_back_to_the_day_it_was_counted_in(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    today = window(Period.DAILY, utc_now())
    last_moment = today.starts_at - timedelta(milliseconds=1)  # yesterday 23:59:59.999
    module: ModuleType = api.module(DEPOSIT_FUNCTION)
    module.cashier.clock = lambda: last_moment
    try:
        assert api.deposit(FRANK, _body("70.00"))[0] == 201
    finally:
        module.cashier.clock = utc_now
    [deposit] = api.transactions_of(FRANK)
    yesterday = window(Period.DAILY, last_moment).counter_key
    assert f"daily#{(today.starts_at - timedelta(days=1)):%Y-%m-%d}" == yesterday
    assert yesterday in deposit.counted_in
    assert api.deposit(FRANK, _body("90.00"))[0] == 201  # today is its own day

    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "failed"))[0] == 200
    store = _store(api)
    assert store.usage(FRANK, "USD", [yesterday]) == {yesterday: Usage(Decimal("0.00"), 0)}
    assert _today(FRANK, api) == Usage(Decimal("90.00"), 1)


def test_the_janitor_s_expiry_gives_the_share_back(api: CustomerApi, lifecycle: Lifecycle) -> None:
    from cashier_core.janitor import run_janitor

    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    janitor = api.module("PaymentJanitorFunction")
    run_janitor(
        janitor.cashier, janitor.queue, utc_now() + timedelta(minutes=31), timedelta(minutes=5)
    )
    [deposit] = api.transactions_of(FRANK)
    assert deposit.status is Status.CANCELLED
    assert _today(FRANK, api) == Usage(Decimal("0.00"), 0)


# --- race-proof ------------------------------------------------------------------
def test_concurrent_deposits_accept_exactly_what_fits(
    api: CustomerApi,
    atomic_moto: None,
) -> None:
    requests = 16
    moment = utc_now()
    # One container per request, as in test_deposit_velocity (Powertools keeps
    # the resolver's current event on its class, so handlers race as functions).
    containers = [load_function(DEPOSIT_FUNCTION) for _ in range(requests)]
    for container in containers:
        container.cashier.clock = lambda: moment
    start = threading.Barrier(requests)

    def one(index: int) -> str:
        container = containers[index]
        request = DepositRequest(
            customer_id=FRANK,
            account_id=FRANK_USD,
            method_id="card-sandbox",
            amount="30.00",  # 16 x 30.00 against 100.00 a day: three fit
            currency="USD",
            return_url=None,
            idempotency_key=f"key-{uuid.uuid4().hex}",
        )
        start.wait()
        try:
            create_deposit(container.cashier, request, webhook_base_url=container.WEBHOOK_BASE_URL)
        except DepositLimitExceeded as refused:
            assert refused.limit is not None and refused.limit["period"] == "daily"
            return "refused"
        return "created"

    with ThreadPoolExecutor(max_workers=requests) as pool:
        outcomes = Counter(pool.map(one, range(requests)))

    assert outcomes == {"created": 3, "refused": 13}
    deposits = api.transactions_of(FRANK)
    assert len(deposits) == 3
    key = window(Period.DAILY, moment).counter_key
    counted = _store(api).usage(FRANK, "USD", [key])[key]
    assert counted == Usage(sum((d.amount for d in deposits), Decimal(0)), 3)


# --- BackOffice ------------------------------------------------------------------
def test_backoffice_recomputes_the_counters_and_reports_a_difference_without_rewriting(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    backoffice = BackOffice(api)
    assert api.deposit(FRANK, _body("40.00"))[0] == 201
    assert api.deposit(FRANK, _body("30.00"))[0] == 201
    failing = api.transactions_of(FRANK)[0]
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(failing, "failed"))[0] == 200

    status, body = backoffice.reconcile_deposit_limits(FRANK)
    assert status == 200, body
    assert body["balanced"] is True and body["differences"] == 0
    daily = next(c for c in body["counters"] if c["period"] == "daily")
    left = 70 - int(failing.amount)
    assert (daily["counter_amount"], daily["recomputed_amount"]) == (f"{left}.00", f"{left}.00")
    assert daily["counter_count"] == daily["recomputed_count"] == 1

    key = window(Period.DAILY, utc_now()).counter_key
    counter = {"counter_id": {"S": limit_counter_id(FRANK, "USD", key)}}
    api.aws.dynamodb.update_item(
        TableName=api.aws.tables.rate_limits,
        Key=counter,
        UpdateExpression="ADD amount_used :extra",
        ExpressionAttributeValues={":extra": {"N": "5"}},
    )
    status, body = backoffice.reconcile_deposit_limits(FRANK)
    assert status == 200
    assert body["balanced"] is False and body["differences"] == 1
    daily = next(c for c in body["counters"] if c["period"] == "daily")
    assert (daily["amount_difference"], daily["agrees"]) == ("5.00", False)
    # Reported, never rewritten.
    assert _today(FRANK, api).amount == Decimal(left + 5)
    assert [r.action for r in backoffice.audit(FRANK)] == ["reconcile_deposit_limits"] * 2

    status, body = backoffice.reconcile_deposit_limits("cus-nobody")
    assert (status, body["error"]["code"]) == (404, "customer_not_found")


@pytest.mark.parametrize("moment", [datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)])
def test_a_week_53_deposit_counts_in_week_53_and_its_month(
    api: CustomerApi, moment: datetime
) -> None:
    module: ModuleType = api.module(DEPOSIT_FUNCTION)
    module.cashier.clock = lambda: moment
    try:
        assert api.deposit(FRANK, _body("10.00"))[0] == 201
    finally:
        module.cashier.clock = utc_now
    [deposit] = api.transactions_of(FRANK)
    assert deposit.counted_in == ("daily#2026-12-31", "weekly#2026-W53", "monthly#2026-12")


def test_a_deposit_failed_revived_and_rejected_gives_back_only_once(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    assert api.deposit(FRANK, _body("40.00"))[0] == 201
    assert api.deposit(FRANK, _body("30.00"))[0] == 201
    deposit = next(d for d in api.transactions_of(FRANK) if d.amount == Decimal("40.00"))
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "failed"))[0] == 200
    assert _today(FRANK, api) == Usage(Decimal("30.00"), 1)
    # A late success after the failure: a person looks; the share stays given back.
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    status, body = BackOffice(api).resolve(deposit.transaction_id, "reject")
    assert status == 200, body
    assert lifecycle.transaction(deposit.transaction_id).status is Status.FAILED
    assert _today(FRANK, api) == Usage(Decimal("30.00"), 1)


@pytest.mark.parametrize(("amount", "status"), [("16.66", 502), ("14.03", 422)])
def test_a_payment_the_provider_never_started_gives_its_share_back(
    api: CustomerApi, amount: str, status: int
) -> None:
    # The sandbox answers 16.66 as unavailable and 14.03 as refused.
    answer = api.deposit(FRANK, _body(amount))
    assert answer[0] == status, answer
    assert answer[1]["transaction"]["status_name"] == "failed"
    assert _today(FRANK, api) == Usage(Decimal("0.00"), 0)
    assert api.deposit(FRANK, _body("100.00"))[0] == 201
