"""The third adversarial review of issue 13 (return to source), kept as regression tests:
through the real handlers against moto. Each test asserts the CORRECT money
outcome; a failing test is a finding. Money is counted on the account and on
the card (what the provider sent back to it)."""

from __future__ import annotations

from cashier_core.positions import deposit_money
from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import (
    EUR,
    adyen_credited,
    adyen_post,
    charge,
    stripe_credited,
    stripe_post,
)
from tests.integration.functions.test_reversal_attacks import failed_refund
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import (
    START,
    approve,
    balance,
    credited,
    ledger_sum,
    sandbox_reports,
    withdraw,
)


def _settle_by_person(lifecycle: Lifecycle, backoffice: BackOffice, deposit_id: str) -> None:
    """What BackOffice can do with a deposit left in review: credit it (what is
    owed), or reject it when nothing of it is on the account."""
    stored = lifecycle.transaction(deposit_id)
    if stored.status is not Status.MANUAL_REVIEW:
        return
    status, body = backoffice.resolve(deposit_id, "credit")
    if status != 200:
        status, body = backoffice.resolve(deposit_id, "reject")
    assert status == 200, body
    lifecycle.drain()


# --- 1. Adyen SECOND_CHARGEBACK before the re-credit of a routed deposit -----------
def test_adyen_second_chargeback_before_the_recredit_of_a_routed_deposit_is_not_paid_twice(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """100 EUR by Adyen card; a 100 EUR withdrawal routed back to it. Adyen
    reports a CHARGEBACK (the card has the money: the payout's return), then
    CHARGEBACK_REVERSED (100 comes back, the deposit waits in review), then a
    SECOND_CHARGEBACK before a person re-credits (100 goes to the card again).
    The card ends with 100, so the account must end with 0. Without a route the
    same sequence records the second chargeback against the pending re-credit
    (reversed before credit); with the route it is recorded as nothing (the
    deposit's `reversible` is 0) and the re-credit then pays the 100 again.
    Reject is refused (the credit is on the account), so a person can only credit."""
    deposit = adyen_credited(lifecycle)
    withdrawal = withdraw(api, "100.00", account_id=EUR, currency="EUR")
    status, body = approve(backoffice, withdrawal, route={deposit.transaction_id: "100.00"})
    assert status == 200, body
    dispute = {
        "merchant_reference": deposit.transaction_id,
        "psp_reference": "PSPDISPUTE01",
        "original_reference": "PSPAUTH0001",
        "amount": (10000, "EUR"),
    }
    assert adyen_post(lifecycle, code="CHARGEBACK", **dispute) == 200
    assert balance(api, EUR) == 0  # the payout; card +100
    assert adyen_post(lifecycle, code="CHARGEBACK_REVERSED", **dispute) == 200  # card -100
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    assert adyen_post(lifecycle, code="SECOND_CHARGEBACK", **dispute) == 200  # card +100
    owed = deposit_money(lifecycle.transaction(deposit.transaction_id)).to_credit
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    # Card 100 (the second chargeback): the account ends with nothing of this deposit.
    assert balance(api, EUR) == 0 == ledger_sum(api, EUR), (
        f"the second chargeback took back the 100 that came back, yet {owed} was re-credited"
    )


# --- 2. A failed return-to-source refund, retried before the re-credit -----------
def test_a_retried_refund_after_a_failed_return_to_source_refund_is_not_paid_twice(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """100 USD deposited (balance 200); a 100 withdrawal routed 60 to the card,
    40 to the bank. The 60 refund is reported, then fails (60 comes back, the
    deposit waits in review), and the operator refunds the card again before
    re-crediting: 60 leaves again. Card 60 + bank 40 = the withdrawal, so the
    account must end at 100. The retry meets `reversible` = 100 - 60 = 40: it
    reverses 40 and records nothing of the other 20, and the re-credit owes 60."""
    deposit = credited(lifecycle, "100.00")
    withdrawal = withdraw(api, "100.00")
    route = {deposit.transaction_id: "60.00", "withdrawal_method": "40.00"}
    status, body = approve(backoffice, withdrawal, route=route)
    assert status == 200, body
    assert balance(api) == START
    assert (
        sandbox_reports(lifecycle, deposit.transaction_id, "refunded", "60.00") == 200
    )  # card +60
    assert (
        sandbox_reports(lifecycle, deposit.transaction_id, "refund_failed", "60.00") == 200
    )  # card -60
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    assert (
        sandbox_reports(lifecycle, deposit.transaction_id, "refunded", "60.00") == 200
    )  # card +60
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    # Deposited 100, withdrew 100 (60 to the card, 40 to the bank): back to the seed.
    assert balance(api) == START == ledger_sum(api)


# --- held: a partial hold release, then the to-source refund fails --------------
def test_a_partly_returned_payout_failed_then_its_refund_failing_pays_back_exactly_once(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """60 to the card (reported), 40 to the bank (bounced: failed, 40 released);
    then the card refund fails (60 comes back, re-credited). A second fail is a
    repeat. The customer ends with all 200 on the account and nothing elsewhere."""
    deposit = credited(lifecycle, "100.00")
    withdrawal = withdraw(api, "100.00")
    route = {deposit.transaction_id: "60.00", "withdrawal_method": "40.00"}
    assert approve(backoffice, withdrawal, route=route)[0] == 200
    assert sandbox_reports(lifecycle, deposit.transaction_id, "refunded", "60.00") == 200
    status, body = backoffice.payout_failed(withdrawal)
    assert status == 200, body
    assert balance(api) == START + 40
    assert backoffice.payout_failed(withdrawal)[0] == 200  # a repeat moves nothing
    assert balance(api) == START + 40
    assert sandbox_reports(lifecycle, deposit.transaction_id, "refund_failed", "60.00") == 200
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    assert balance(api) == START + 100 == ledger_sum(api)


# --- 2b. The same through Stripe's running totals ------------------------------
def test_stripe_new_refund_after_a_failed_return_to_source_refund_is_not_paid_twice(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Finding 2 as Stripe reports it: charge.refunded (total 60) is the
    payout's return; the refund fails (charge.refund.updated, failed: 60 comes
    back, Stripe's total drops to 0); a new refund brings the total to 60 again
    before anyone re-credits. Card 60 + bank 40: the account must end at 100."""
    deposit = stripe_credited(lifecycle)
    withdrawal = withdraw(api, "100.00")
    route = {deposit.transaction_id: "60.00", "withdrawal_method": "40.00"}
    status, body = approve(backoffice, withdrawal, route=route)
    assert status == 200, body
    assert stripe_post(lifecycle, "charge.refunded", charge(6000)) == 200  # card +60
    assert balance(api) == START
    assert stripe_post(lifecycle, "charge.refund.updated", failed_refund("re_1", 6000)) == 200
    assert stripe_post(lifecycle, "charge.refunded", charge(6000)) == 200  # re_2: card +60
    _settle_by_person(lifecycle, backoffice, deposit.transaction_id)
    assert balance(api) == START == ledger_sum(api)
