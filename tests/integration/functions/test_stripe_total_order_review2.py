"""Review 2, through the real webhook handler, BackOffice and credit worker
against moto, with Stripe's own objects signed by its library."""

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


def test_a_later_total_delivered_while_a_person_credit_waits_is_not_lost(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Stripe, in time order: re_1 (10) at MADE (total 10); a dispute of 20
    at MADE+1, won at MADE+2; re_1 fails at MADE+3; re_2 (10) at MADE+4
    (total 10 again). The card holds 10 (re_2): the account must end at 190.

    Delivered: total 10 (190), the dispute (170), its win (manual_review, 20
    to re-credit), a person credits it (provider_confirmed: the credit
    message waits on the queue), the total made at MADE+4 arrives (moves
    nothing: dropped as ALREADY, since provider_confirmed may not record a
    change to itself), the credit worker runs (190), then re_1's failure made
    at MADE+3: no later total is known, so 10 comes back and the person
    re-credits it. The account ends at 200: re_2's 10 is paid twice."""
    deposit = stripe_credited(lifecycle)
    assert stripe_post(lifecycle, "charge.refunded", charge(1000), created=MADE) == 200
    disputed = dispute(amount=2000)
    assert stripe_post(lifecycle, "charge.dispute.created", disputed, created=MADE + 1) == 200
    won = dispute("won", 2000)
    assert stripe_post(lifecycle, "charge.dispute.funds_reinstated", won, created=MADE + 2) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    status, body = backoffice.resolve(deposit.transaction_id, "credit")
    assert status == 200, body
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PROVIDER_CONFIRMED
    assert stripe_post(lifecycle, "charge.refunded", charge(1000), created=MADE + 4) == 200
    lifecycle.drain()
    assert balance(api) == START + 90
    failure = failed_refund("re_1", 1000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=MADE + 3) == 200
    if lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW:
        status, body = backoffice.resolve(deposit.transaction_id, "credit")
        assert status == 200, body
        lifecycle.drain()
    assert balance(api) == ledger_sum(api)
    assert balance(api) == START + 90, (
        f"balance {balance(api)}: re_2's 10 is on the card and on the account; "
        + "; ".join(c.reason for c in lifecycle.transaction(deposit.transaction_id).history)
    )
