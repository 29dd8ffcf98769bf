"""Reproducers from the adversarial review of the deposit limits (issue 14),
kept as regression tests: each asserts the correct outcome."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

from cashier_core.clock import utc_now
from cashier_core.limits import Period, Usage, window
from cashier_core.statuses import Status

# Frank (self-limit 100.00 USD a day, 5 a week) and the helpers of the limit tests.
from tests.integration.functions.test_deposit_limits import (
    DEPOSIT_FUNCTION,
    FRANK,
    FRANK_USD,
    _body,
    _store,
)
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle


def _today(api: CustomerApi) -> Usage:
    key = window(Period.DAILY, utc_now()).counter_key
    return _store(api).usage(FRANK, "USD", [key]).get(key, Usage())


def _credited_today(api: CustomerApi, lifecycle: Lifecycle) -> Decimal:
    return sum(
        (
            d.amount
            for d in api.transactions_of(FRANK)
            if lifecycle.transaction(d.transaction_id).status is Status.CREDITED
        ),
        Decimal(0),
    )


def test_failed_then_late_success_credited_by_review_is_counted_again(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    """failed (released) -> late success -> manual_review -> operator credit ->
    credited: 80.00 came in, so the daily 100.00 must not admit another 100.00."""
    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    [deposit] = api.transactions_of(FRANK)
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "failed"))[0] == 200
    assert _today(api) == Usage(Decimal("0.00"), 0)
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    status, body = BackOffice(api).resolve(deposit.transaction_id, "credit")
    assert status == 200, body
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    # 80.00 came in today against a 100.00 daily limit: 100.00 more must be refused.
    status, body = api.deposit(FRANK, _body("100.00"))
    assert status == 422, (status, body, _credited_today(api, lifecycle), _today(api))


def test_failed_then_late_success_reconciliation_reports_the_uncounted_credit(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    """BackOffice reconciliation must not call a credited-but-released deposit balanced."""
    assert api.deposit(FRANK, _body("80.00"))[0] == 201
    [deposit] = api.transactions_of(FRANK)
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "cancelled"))
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))
    assert BackOffice(api).resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    credited = _credited_today(api, lifecycle)
    status, body = BackOffice(api).reconcile_deposit_limits(FRANK)
    assert status == 200
    daily = next(c for c in body["counters"] if c["period"] == "daily")
    assert credited == Decimal("80.00")
    # Either the counter holds every credited deposit, or the report says it does not.
    assert Decimal(daily["counter_amount"]) >= credited or body["balanced"] is False, body


def test_failure_webhook_racing_the_janitor_releases_once(
    api: CustomerApi,
    lifecycle: Lifecycle,
    atomic_moto: None,
) -> None:
    from cashier_core.janitor import run_janitor

    for _ in range(5):
        assert api.deposit(FRANK, _body("20.00"))[0] == 201
    deposits = api.transactions_of(FRANK)
    janitor = api.module("PaymentJanitorFunction")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def webhooks() -> None:
        try:
            start.wait()
            for d in deposits:
                lifecycle.sandbox_webhook(lifecycle.sandbox_body(d, "failed"))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    def sweep() -> None:
        try:
            start.wait()
            run_janitor(
                janitor.cashier,
                janitor.queue,
                utc_now() + timedelta(minutes=31),
                timedelta(minutes=5),
            )
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=webhooks), threading.Thread(target=sweep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for d in deposits:
        assert lifecycle.transaction(d.transaction_id).status in (Status.FAILED, Status.CANCELLED)
    assert _today(api) == Usage(Decimal("0.00"), 0)


def test_idempotent_retry_after_midnight_returns_the_same_deposit(
    api: CustomerApi,
) -> None:
    today = window(Period.DAILY, utc_now())
    last_moment = today.starts_at - timedelta(milliseconds=1)
    module: Any = api.module(DEPOSIT_FUNCTION)
    module.cashier.clock = lambda: last_moment
    try:
        first = api.deposit(FRANK, _body("100.00"), key="frank-midnight-1")
        assert first[0] == 201
    finally:
        module.cashier.clock = utc_now
    again = api.deposit(FRANK, _body("100.00"), key="frank-midnight-1")
    assert again == first
    assert _today(api) == Usage()
    assert len(api.transactions_of(FRANK)) == 1


def test_a_released_deposit_retried_with_its_key_is_not_counted_again(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    first = api.deposit(FRANK, _body("60.00"), key="frank-retry-rel-1")
    assert first[0] == 201
    [deposit] = api.transactions_of(FRANK)
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "failed"))
    again = api.deposit(FRANK, _body("60.00"), key="frank-retry-rel-1")
    assert again[0] in (200, 201), again
    assert _today(api) == Usage(Decimal("0.00"), 0)


def test_concurrent_retries_with_one_key_at_the_limit_all_get_the_one_deposit(
    api: CustomerApi,
    atomic_moto: None,
) -> None:
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from cashier_core.deposits import DepositRequest, create_deposit
    from tests.support.lambdas import load_function

    n = 6
    containers = [load_function(DEPOSIT_FUNCTION) for _ in range(n)]
    start = threading.Barrier(n)
    key = f"key-{uuid.uuid4().hex}"

    def one(index: int) -> str:
        c = containers[index]
        request = DepositRequest(
            customer_id=FRANK,
            account_id=FRANK_USD,
            method_id="card-sandbox",
            amount="100.00",
            currency="USD",
            return_url=None,
            idempotency_key=key,
        )
        start.wait()
        try:
            return create_deposit(
                c.cashier, request, webhook_base_url=c.WEBHOOK_BASE_URL
            ).transaction.transaction_id
        except Exception as error:  # noqa: BLE001
            return f"error:{type(error).__name__}:{error}"

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(one, range(n)))
    assert len(set(outcomes)) == 1 and not outcomes[0].startswith("error"), outcomes
    assert _today(api) == Usage(Decimal("100.00"), 1)


def test_zero_limits_refuse_with_422(api: CustomerApi) -> None:
    from cashier_core.models import CrmOverrides, DepositLimits, PeriodLimit

    frank = api.aws.customers().get(FRANK)
    crm = CrmOverrides(deposit_limits={"USD": DepositLimits(daily=PeriodLimit(amount=Decimal(0)))})
    api.aws.customers().put(frank.model_copy(update={"crm_overrides": crm}))
    status, body = api.deposit(FRANK, _body("10.00"))
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded"), body
    own = {"USD": DepositLimits(weekly=PeriodLimit(count=0))}
    api.aws.customers().put(frank.model_copy(update={"self_limits": own}))
    status, body = api.deposit(FRANK, _body("10.00"))
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded"), body
    status, body = api.methods(FRANK, FRANK_USD)
    assert status == 200, body
    assert _today(api) == Usage()


def test_count_only_limit_holds_under_concurrency(
    api: CustomerApi,
    atomic_moto: None,
) -> None:
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from cashier_core.deposits import DepositRequest, create_deposit
    from cashier_core.errors import CashierError
    from tests.support.lambdas import load_function

    n = 12  # 12 x 5.00... min is 10.00: 12 x 10.00 = 120 > 100 daily; weekly count 5
    containers = [load_function(DEPOSIT_FUNCTION) for _ in range(n)]
    start = threading.Barrier(n)

    def one(index: int) -> str:
        c = containers[index]
        request = DepositRequest(
            customer_id=FRANK,
            account_id=FRANK_USD,
            method_id="card-sandbox",
            amount="10.00",
            currency="USD",
            return_url=None,
            idempotency_key=f"k-{uuid.uuid4().hex}",
        )
        start.wait()
        try:
            create_deposit(c.cashier, request, webhook_base_url=c.WEBHOOK_BASE_URL)
        except CashierError as error:
            return error.code
        return "created"

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(one, range(n)))
    assert outcomes.count("created") == 5, outcomes
    assert set(outcomes) == {"created", "deposit_limit_exceeded"}, outcomes
    assert _today(api) == Usage(Decimal("50.00"), 5)


def test_a_deposit_created_in_a_full_day_just_before_midnight_is_refused_422(
    api: CustomerApi,
) -> None:
    import inspect

    today = window(Period.DAILY, utc_now())
    before = today.starts_at - timedelta(seconds=2)
    module: Any = api.module(DEPOSIT_FUNCTION)
    module.cashier.clock = lambda: before
    try:
        assert api.deposit(FRANK, _body("100.00"))[0] == 201  # yesterday is full

        def clock() -> Any:
            # The request starts at 23:59:59.999; its limit reads happen at 00:00.
            callers = {f.function for f in inspect.stack()[1:8]}
            if "limit_allowances" in callers:
                return today.starts_at
            return today.starts_at - timedelta(milliseconds=1)

        module.cashier.clock = clock
        status, body = api.deposit(FRANK, _body("50.00"))
    finally:
        module.cashier.clock = utc_now
    assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded"), (status, body)


def test_two_different_failure_events_raced_in_two_containers_release_once(
    api: CustomerApi,
    lifecycle: Lifecycle,
    atomic_moto: None,
) -> None:
    import time as _time

    from cashier_local.events import api_event
    from cashier_providers import signing
    from tests.support.lambdas import invoke, load_function

    for _ in range(3):
        assert api.deposit(FRANK, _body("30.00"))[0] == 201
    deposits = api.transactions_of(FRANK)
    fn = "ProcessCashierWebhookFunction"
    statuses: list[int] = []
    for d in deposits:
        containers = [load_function(fn) for _ in range(4)]
        bodies = [lifecycle.sandbox_body(d, "failed" if i % 2 else "cancelled") for i in range(4)]
        start = threading.Barrier(4)

        def one(
            i: int,
            bodies: list[bytes] = bodies,
            containers: list[Any] = containers,
            start: threading.Barrier = start,
        ) -> None:
            signature = signing.sign(bodies[i], lifecycle.sandbox_secret(), int(_time.time()))
            event = api_event(
                method="POST",
                resource="/cashier/webhook/{provider}",
                path="/cashier/webhook/sandbox",
                path_parameters={"provider": "sandbox"},
                headers=[("Content-Type", "application/json"), ("X-Sandbox-Signature", signature)],
                body=bodies[i],
            )
            start.wait()
            statuses.append(invoke(containers[i], event, fn)["statusCode"])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(s < 500 for s in statuses), statuses
    assert _today(api) == Usage(Decimal("0.00"), 0)
    assert BackOffice(api).reconcile_deposit_limits(FRANK)[1]["balanced"] is True


def test_an_expired_wire_paid_anyway_and_credited_stays_counted(
    api: CustomerApi, lifecycle: Lifecycle
) -> None:
    """Customer-driven: open a wire deposit, let it expire (janitor cancels, the
    share is released), wire the money anyway; BackOffice credits what arrived.
    The money came in within the deposit's month, so the month must count it."""
    from cashier_core.janitor import run_janitor
    from cashier_core.models import DepositLimits, PeriodLimit

    carol = api.aws.customers().get("cus-carol")
    crm = carol.crm_overrides.model_copy(
        update={
            "deposit_limits": {"EUR": DepositLimits(monthly=PeriodLimit(amount=Decimal("1000.00")))}
        }
    )
    api.aws.customers().put(carol.model_copy(update={"crm_overrides": crm}))
    status, body = api.deposit(
        "cus-carol",
        {
            "account_id": "acc-carol-eur",
            "method_id": "wire-eur",
            "amount": "900.00",
            "currency": "EUR",
        },
    )
    assert status == 201, body
    wire = body["transaction"]
    janitor = api.module("PaymentJanitorFunction")
    run_janitor(
        janitor.cashier, janitor.queue, utc_now() + timedelta(days=15), timedelta(minutes=5)
    )
    assert lifecycle.transaction(wire["transaction_id"]).status is Status.CANCELLED
    backoffice = BackOffice(api)
    status, body = backoffice.confirm_wire(wire["provider_reference"], "900.00", "EUR")
    assert (status, body["transaction"]["status_name"]) == (200, "manual_review"), body
    assert backoffice.resolve(wire["transaction_id"], "credit")[0] == 200
    lifecycle.drain()
    assert lifecycle.transaction(wire["transaction_id"]).status is Status.CREDITED
    month = window(Period.MONTHLY, lifecycle.transaction(wire["transaction_id"]).created_at)
    held = _store(api).usage("cus-carol", "EUR", [month.counter_key]).get(month.counter_key)
    assert held is not None and held.amount == Decimal("900.00"), held
