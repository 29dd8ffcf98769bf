"""The fourth adversarial review of issue 13, kept (the reversal's three parts:
to source, from the account, from what waits to be re-credited), through the
real handlers against moto. Each test asserts the CORRECT money outcome,
counted on the account and on the card; a failing test is a finding."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import charge, stripe_credited, stripe_post
from tests.integration.functions.test_reversal_attacks import failed_refund
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import approve, balance, credited, ledger_sum, withdraw

START = Decimal("100.00")  # Alice's seeded USD balance


def _settle_by_person(lifecycle: Lifecycle, backoffice: BackOffice, deposit_id: str) -> None:
    """What BackOffice does with a deposit left in review: credit what is owed."""
    if lifecycle.transaction(deposit_id).status is Status.MANUAL_REVIEW:
        status, body = backoffice.resolve(deposit_id, "credit")
        assert status == 200, body
        lifecycle.drain()


def _sandbox(lifecycle: Lifecycle, deposit_id: str, status: str, amount: str) -> int:
    deposit = lifecycle.transaction(deposit_id)
    return lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, status, amount=amount))[0]


# --- 1. A stale Stripe running total eats the re-credit, silently ------------------
def test_stripe_late_running_total_after_a_refund_failure_does_not_take_the_failed_refund_again(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """re_1 refunds 30 (charge.refunded, total 30). The merchant refunds re_2,
    70: its charge.refunded carries the Charge as it was then (total 100). re_1
    fails, and its refund.failed is delivered before re_2's charge.refunded
    (Stripe does not order deliveries; a retried delivery is hours late). The
    card ends with 70, so the account must end at 200 - 70 = 130. The late
    total is measured against the refunds standing after the failure (0) and
    claims 100: 70 leaves the account and 30 is taken from the re-credit that
    waits (`before`); the deposit goes to refunded, no person is alarmed, and
    the customer has lost 30. Before fix3 the 30 went to review (a person
    alarmed) and the re-credit paid it."""
    deposit = stripe_credited(lifecycle)
    assert balance(api) == START + 100
    made = 1_900_000_000  # when Stripe made each event: re_1's total, re_2's, re_1's failure
    assert stripe_post(lifecycle, "charge.refunded", charge(3000), created=made) == 200
    assert balance(api) == START + 70
    # re_2 (70) is made now: card +70, its charge.refunded (total 100) is in flight.
    failure = failed_refund("re_1", 3000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=made + 2) == 200  # card -30
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    late = charge(10000)
    assert stripe_post(lifecycle, "charge.refunded", late, created=made + 1) == 200  # re_2's
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    stored = lifecycle.transaction(deposit.transaction_id)
    assert balance(api) == START + 30 == ledger_sum(api), (
        f"card 70, account {balance(api) - START} of the deposit, status {stored.status.api_name}: "
        "the failed refund's 30 was taken from the re-credit a second time"
    )


# --- 2. Stripe: a refund failure delivered before its refund ---------------------
def test_stripe_refund_failure_delivered_before_its_running_total_is_not_lost(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """re_1 (30) is refunded and fails; refund.failed is delivered before the
    charge.refunded (total 30, made before the failure) that reported it. The
    card holds nothing, so the account keeps all 100 of the deposit: the
    failure is kept with its amount and time, and the total made before it is
    read without the failed refund."""
    deposit = stripe_credited(lifecycle)
    made = 1_900_000_000
    failure = failed_refund("re_1", 3000)
    assert stripe_post(lifecycle, "refund.failed", failure, created=made + 1) == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    assert (stored.status, stored.history[-1].money_failed_first) == (
        Status.CREDITED,
        Decimal("30.00"),
    )
    assert stripe_post(lifecycle, "charge.refunded", charge(3000), created=made) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    # A refund made after the failure is a refund.
    assert stripe_post(lifecycle, "charge.refunded", charge(2000), created=made + 2) == 200
    assert balance(api) == START + 80 == ledger_sum(api)


# --- 3. Unnamed dispute win after a failed return-to-source refund -----------------
def test_sandbox_dispute_win_after_the_payouts_refund_failed_is_recredited(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """100 deposited (balance 200); a 10 withdrawal routed back to the card.
    The payout's refund (10) is reported, a 10 chargeback is reversed from the
    account, the payout's refund fails (10 comes back: re-credit), and the
    dispute is won (10 comes back). Card: nothing; the payout never arrived.
    The account must end at 200. The win names no movement (sandbox), and
    dispute_reinstatable subtracts the refund's whole return to source although
    it already came back: the win returns 0, recorded with no person, and the
    customer loses 10."""
    deposit = credited(lifecycle, "100.00")
    withdrawal = withdraw(api, "10.00")
    status, body = approve(backoffice, withdrawal, route={deposit.transaction_id: "10.00"})
    assert status == 200, body
    assert balance(api) == START + 90
    assert (
        _sandbox(lifecycle, deposit.transaction_id, "refunded", "10.00") == 200
    )  # payout: card +10
    assert _sandbox(lifecycle, deposit.transaction_id, "chargeback", "10.00") == 200  # card +10
    assert _sandbox(lifecycle, deposit.transaction_id, "refund_failed", "10.00") == 200  # card -10
    assert _sandbox(lifecycle, deposit.transaction_id, "reinstated", "10.00") == 200  # card -10
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    assert balance(api) == START + 100 == ledger_sum(api), (
        f"the card holds nothing and the payout never arrived, yet the account has "
        f"{balance(api) - START} of the deposit"
    )
