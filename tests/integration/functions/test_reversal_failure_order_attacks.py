"""Fifth adversarial review of issue 13 (bab0de1, 4aadb94), through the real
handlers against moto: Stripe's running totals read against refund failures by
event time. Each test asserts the CORRECT money outcome, counted on the account
and on the card; a failing test is a finding. In each, every refund failure is
delivered before any running total made after it (not the declared xfail)."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import charge, stripe_credited, stripe_post
from tests.integration.functions.test_reversal_attacks import failed_refund
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import balance, ledger_sum

START = Decimal("100.00")  # Alice's seeded USD balance
MADE = 1_900_000_000  # Stripe's `created` of the first event below


def _settle_by_person(lifecycle: Lifecycle, backoffice: BackOffice, deposit_id: str) -> None:
    """What BackOffice does with a deposit left in review: credit what is owed."""
    if lifecycle.transaction(deposit_id).status is Status.MANUAL_REVIEW:
        status, body = backoffice.resolve(deposit_id, "credit")
        assert status == 200, body
        lifecycle.drain()


def test_stripe_refund_failure_larger_than_the_refunds_recorded_is_not_taken_again(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """re_1 (10) made at MADE (total 10), re_2 (30) at MADE+1 (total 40), re_2
    fails at MADE+2. Delivered: total 10, re_2's refund.failed, total 40. The
    card ends with 10, so the account must end at 200 - 10 = 190. The failure
    finds only 10 of refunds standing, re-credits 10 and remembers only 10 of
    re_2 as failed; the total 40 then reverses 30 (40 - the 10 remembered):
    re_2's other 20 is taken from the customer though it never left the
    merchant. The account ends at 170: 20 lost."""
    deposit = stripe_credited(lifecycle)
    assert stripe_post(lifecycle, "charge.refunded", charge(1000), created=MADE) == 200
    # re_2 (30) is made at MADE+1: its charge.refunded (total 40) is in flight.
    failure = failed_refund("re_2", 3000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=MADE + 2) == 200
    assert stripe_post(lifecycle, "charge.refunded", charge(4000), created=MADE + 1) == 200
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    assert balance(api) == START + 90 == ledger_sum(api), (
        f"card 10, account {balance(api) - START} of the deposit; "
        + "; ".join(c.reason for c in lifecycle.transaction(deposit.transaction_id).history)
    )


def test_stripe_same_total_made_before_and_after_a_failure_are_two_refunds(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """re_1 (10) at MADE (total 10), re_2 (10) at MADE+1 (total 20), re_1 fails
    at MADE+2 (total 10), re_3 (10) at MADE+3 (total 20). The card ends with 20
    (re_2, re_3): the account must end at 180. Delivered: total 10, re_1's
    failure, total 20 made at MADE+1, total 20 made at MADE+3. The first 20 is
    read against the failure (reverses 10) under 'refunds-to:20.00#after-1-failed';
    the second 20, a new refund, gets the same name and is dropped as recorded:
    re_3's 10 is on the card and on the account (190), paid twice."""
    deposit = stripe_credited(lifecycle)
    assert stripe_post(lifecycle, "charge.refunded", charge(1000), created=MADE) == 200
    failure = failed_refund("re_1", 1000)
    assert stripe_post(lifecycle, "charge.refund.updated", failure, created=MADE + 2) == 200
    assert stripe_post(lifecycle, "charge.refunded", charge(2000), created=MADE + 1) == 200
    assert stripe_post(lifecycle, "charge.refunded", charge(2000), created=MADE + 3) == 200
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    assert balance(api) == START + 80 == ledger_sum(api), (
        f"card 20, account {balance(api) - START} of the deposit; "
        + "; ".join(c.reason for c in lifecycle.transaction(deposit.transaction_id).history)
    )
