"""Finding 1 of tests/unit/cashier_core/test_total_order_review.py through the real webhook handler,
credit worker and BackOffice against moto, with Stripe's own objects signed by
its library (helpers of tests/integration/functions)."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import (
    charge,
    dispute,
    stripe_credited,
    stripe_post,
)
from tests.integration.functions.test_reversal_attacks import failed_refund
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import balance, ledger_sum

START = Decimal("100.00")  # Alice's seeded USD balance
MADE = 1_900_000_000


def test_a_late_failure_after_a_later_total_on_a_charged_back_deposit_is_not_paid_twice(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Stripe made: re_1 (30) at MADE (total 30); re_1 fails at MADE+1; re_2
    (30) at MADE+2 (total 30); a 70 dispute at MADE+3. The card holds 100, so
    Alice's account must end where it started (100).

    Delivered: total 30 @MADE, the dispute, total 30 @MADE+2, the failure.
    The deposit is `chargeback` when the later total comes, so it is not kept
    (only credited/manual_review/refunded keep a total); the failure returns
    all 30 "re-credit after review" and BackOffice's credit pays it: 130."""
    deposit = stripe_credited(lifecycle)
    assert stripe_post(lifecycle, "charge.refunded", charge(3000), created=MADE) == 200
    assert (
        stripe_post(lifecycle, "charge.dispute.created", dispute(amount=7000), created=MADE + 3)
        == 200
    )
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CHARGEBACK
    assert stripe_post(lifecycle, "charge.refunded", charge(3000), created=MADE + 2) == 200
    failure = failed_refund("re_1", 3000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=MADE + 1) == 200
    if lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW:
        # The person re-credits exactly what the deposit says is owed.
        status, body = backoffice.resolve(deposit.transaction_id, "credit")
        assert status == 200, body
        lifecycle.drain()
    assert balance(api) == ledger_sum(api)
    assert balance(api) == START, (
        f"balance {balance(api)}: re_1's 30 came back although the total made after its "
        "failure already left it out; "
        + "; ".join(c.reason for c in lifecycle.transaction(deposit.transaction_id).history)
    )
