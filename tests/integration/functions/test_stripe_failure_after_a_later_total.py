"""Through the real webhook handler against moto, with Stripe's own objects
signed by its library: a refund failure delivered after a running total Stripe
made later (which already left the failed refund out). The latest total is
stored with its time even when it moves nothing, and read back from DynamoDB
when the failure arrives."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.models import MoneyEffect
from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import charge, stripe_credited, stripe_post
from tests.integration.functions.test_reversal_attacks import failed_refund
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import balance, ledger_sum

START = Decimal("100.00")  # Alice's seeded USD balance
MADE = 1_900_000_000  # Stripe's `created` of the first event below


def test_a_refund_failure_after_the_same_total_made_later_moves_nothing(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """re_1 (10) at MADE, total 10; re_1 fails at MADE+1; re_2 (10) at MADE+2,
    total 10 again. Delivered: total 10, the later total 10, then re_1's
    failure. The card holds 10 (re_2): the account keeps 190, nobody is asked."""
    deposit = stripe_credited(lifecycle)
    assert stripe_post(lifecycle, "charge.refunded", charge(1000), created=MADE) == 200
    assert stripe_post(lifecycle, "charge.refunded", charge(1000), created=MADE + 2) == 200
    kept = lifecycle.transaction(deposit.transaction_id).history[-1]
    assert kept.money_effect is MoneyEffect.TOTAL_SEEN
    assert (kept.money_total, kept.money_occurred_at) == (Decimal("10.00"), MADE + 2)
    failure = failed_refund("re_1", 1000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=MADE + 1) == 200
    after = lifecycle.transaction(deposit.transaction_id)
    assert after.status is Status.CREDITED, after.history[-1].reason
    assert balance(api) == START + 90 == ledger_sum(api)
    # The customer's history shows the refund, not the bookkeeping.
    status, body = api.history("cus-alice", account_id="acc-alice-usd")
    assert status == 200, body
    shown = next(t for t in body["transactions"] if t["transaction_id"] == deposit.transaction_id)
    assert [c["money_effect"] for c in shown["history"]].count("total_seen") == 0


def test_a_refund_failure_after_a_smaller_total_made_later_gives_back_only_the_difference(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """re_1 (10) and re_2 (20): total 30 at MADE; re_1 fails at MADE+1; total
    20 at MADE+2. Delivered: 30, 20, then the failure: 10 comes back for a
    person to credit, once. The card holds 20: the account ends at 180."""
    deposit = stripe_credited(lifecycle)
    assert stripe_post(lifecycle, "charge.refunded", charge(3000), created=MADE) == 200
    assert stripe_post(lifecycle, "charge.refunded", charge(2000), created=MADE + 2) == 200
    failure = failed_refund("re_1", 1000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=MADE + 1) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    status, body = backoffice.resolve(deposit.transaction_id, "credit")
    assert status == 200, body
    lifecycle.drain()
    assert balance(api) == START + 80 == ledger_sum(api)
