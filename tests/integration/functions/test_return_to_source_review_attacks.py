"""The second adversarial review of the issue 13 fix (round 2): return to source and four
eyes, through the real handlers against moto. Each test asserts the CORRECT
money outcome; a failing test is a finding."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.models import MoneyEffect
from cashier_core.positions import deposit_money
from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import (
    EUR,
    adyen_credited,
    adyen_post,
)
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import (
    START,
    approve,
    approved_with_route,
    balance,
    credited,
    ledger_sum,
    sandbox_reports,
    withdraw,
)


# --- 1. Adyen: a failed return-to-source refund is never given back ------------------
def test_adyen_refund_failed_of_a_return_to_source_refund_comes_back_to_the_customer(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """100 EUR by Adyen card; a 100 EUR withdrawal routed back to it; the
    operator refunds the card (REFUND, psp R1), Adyen reports it; then the
    refund fails (REFUND_FAILED names R1). The customer has neither the payout
    nor the balance: the money must come back for a person to re-credit, as the
    README promises ("A refund of a returned-to-source part that fails comes
    back for review")."""
    deposit = adyen_credited(lifecycle)
    assert balance(api, EUR) == Decimal("100.00")
    withdrawal = withdraw(api, "100.00", account_id=EUR, currency="EUR")
    status, body = approve(backoffice, withdrawal, route={deposit.transaction_id: "100.00"})
    assert status == 200, body
    common = {"merchant_reference": "x", "original_reference": "PSPAUTH0001"}
    assert (
        adyen_post(lifecycle, code="REFUND", psp_reference="R1", amount=(10000, "EUR"), **common)
        == 200
    )
    assert balance(api, EUR) == 0  # the payout, no second debit
    assert (
        adyen_post(
            lifecycle, code="REFUND_FAILED", psp_reference="R1", amount=(10000, "EUR"), **common
        )
        == 200
    )
    stored = lifecycle.transaction(deposit.transaction_id)
    assert stored.history[-1].money_effect is MoneyEffect.REINSTATED, (
        "the failed return-to-source refund was only recorded: nothing comes back"
    )
    assert stored.status is Status.MANUAL_REVIEW
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert balance(api, EUR) == Decimal("100.00") == ledger_sum(api, EUR)


def test_adyen_refund_failed_of_a_mixed_refund_gives_back_its_to_source_part_too(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """100 EUR deposit, 30 EUR routed back by a withdrawal; Adyen refunds the
    whole 100 at once (30 the payout, 70 reversed), then that refund fails:
    all 100 came back, so after the person's re-credit the customer holds 100
    (the deposit was never refunded, the withdrawal never paid)."""
    deposit = adyen_credited(lifecycle)
    withdrawal = withdraw(api, "30.00", account_id=EUR, currency="EUR")
    status, body = approve(backoffice, withdrawal, route={deposit.transaction_id: "30.00"})
    assert status == 200, body
    common = {"merchant_reference": "x", "original_reference": "PSPAUTH0001"}
    adyen_post(lifecycle, code="REFUND", psp_reference="R1", amount=(10000, "EUR"), **common)
    assert balance(api, EUR) == 0
    adyen_post(lifecycle, code="REFUND_FAILED", psp_reference="R1", amount=(10000, "EUR"), **common)
    stored = lifecycle.transaction(deposit.transaction_id)
    assert stored.status is Status.MANUAL_REVIEW
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert balance(api, EUR) == Decimal("100.00") == ledger_sum(api, EUR), (
        "only the reversed 70 came back; the failed 30 return is lost"
    )


# --- 2. fail_payout refused for a refund that was another withdrawal's ---------------
def test_a_refund_of_one_withdrawals_route_does_not_block_failing_another(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """One 100.00 deposit; W1 routes 30.00 back to it, W2 routes 40.00. W1's
    card refund (30.00) is reported. W2's card refund is impossible (card
    expired) so the operator fails W2 to pay it another way: its 40.00 hold must
    come back. The deposit's returned 30.00 is covered by W1's share alone."""
    deposit = credited(lifecycle, "100.00")
    d = deposit.transaction_id
    approved_with_route(api, backoffice, "30.00", {d: "30.00"})
    w2 = approved_with_route(api, backoffice, "40.00", {d: "40.00"})
    assert balance(api) == START + Decimal("30.00")
    assert sandbox_reports(lifecycle, d, "refunded", "30.00") == 200
    status, body = backoffice.payout_failed(w2)
    assert status == 200, body
    assert lifecycle.transaction(w2).status is Status.FAILED
    assert w2 not in (lifecycle.transaction(d).payout_returns or {})
    assert balance(api) == START + Decimal("70.00") == ledger_sum(api)


# --- 3. the bank part of a mixed route can never be given back -----------------------
def test_a_bounced_bank_part_of_a_partly_returned_payout_comes_back(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """A 100.00 withdrawal: 30.00 back to the card deposit, 70.00 by bank
    transfer. The card refund (30.00) is reported; the bank transfer bounces.
    The customer got 30.00 and must get the 70.00 hold back; payout-failed is
    the only operator action on a paid-out withdrawal, and it is refused, so the
    70.00 is stranded on a withdrawal marked paid."""
    deposit = credited(lifecycle, "30.00")
    d = deposit.transaction_id
    w = approved_with_route(api, backoffice, "100.00", {d: "30.00", "withdrawal_method": "70.00"})
    assert balance(api) == START + Decimal("30.00") - Decimal("100.00")
    assert sandbox_reports(lifecycle, d, "refunded", "30.00") == 200
    status, body = backoffice.payout_failed(w)
    # 100 + 30 deposited - 100 held + 70 bounced back.
    assert (
        balance(api)
        == START + Decimal("30.00") - Decimal("100.00") + Decimal("70.00")
        == ledger_sum(api)
    ), f"the bounced 70.00 stays held (payout-failed answered {status} {body})"


# --- 4. chargeback of a routed deposit, then the payout fails: paid twice -----------
def test_a_chargeback_of_a_routed_deposit_then_a_failed_payout_does_not_pay_twice(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """30.00 by card; a 30.00 withdrawal routed back to that card. Before the
    operator refunds, the customer charges the card payment back (30.00 back
    on the card). The chargeback is that payout's return (the card has the
    money; the hold paid for it), so failing the payout is refused: the hold
    must not come back as well."""
    deposit = credited(lifecycle, "30.00")
    d = deposit.transaction_id
    w = approved_with_route(api, backoffice, "30.00", {d: "30.00"})
    assert balance(api) == START
    assert sandbox_reports(lifecycle, d, "chargeback", "30.00") == 200
    stored = lifecycle.transaction(d)
    assert (stored.status, deposit_money(stored).charged_back_to_source) == (
        Status.CHARGEBACK,
        Decimal("30.00"),
    )
    status, body = backoffice.payout_failed(w)
    assert (status, body["error"]["code"]) == (409, "payout_returned_to_source")
    assert balance(api) == START == ledger_sum(api), "chargeback and released hold both paid"


def test_a_dispute_won_after_a_chargeback_returned_a_payout_is_owed_to_the_customer(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """The chargeback that paid the payout back to the card is reversed (the
    merchant won): the card lost it again, so the customer is owed it."""
    deposit = credited(lifecycle, "30.00")
    d = deposit.transaction_id
    approved_with_route(api, backoffice, "30.00", {d: "30.00"})
    assert sandbox_reports(lifecycle, d, "chargeback", "30.00") == 200
    assert sandbox_reports(lifecycle, d, "reinstated", "30.00") == 200
    stored = lifecycle.transaction(d)
    assert stored.status is Status.MANUAL_REVIEW
    assert deposit_money(stored).to_credit == Decimal("30.00")
    assert backoffice.resolve(d, "credit")[0] == 200
    lifecycle.drain()
    assert balance(api) == START + Decimal("30.00") == ledger_sum(api)


# --- 5. sandbox: an unnamed reinstatement returns a to-source refund -----------------
def test_a_reinstatement_of_a_refused_chargeback_does_not_return_the_payout(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """30.00 routed back to the card and refunded (the payout). A chargeback
    arrives after (refused: nothing left, a person alarmed), then the dispute is
    won ('reinstated'). Nothing was taken by the chargeback, so nothing comes
    back; the reinstatable cap now counts the payout's refund as returnable."""
    deposit = credited(lifecycle, "30.00")
    d = deposit.transaction_id
    approved_with_route(api, backoffice, "30.00", {d: "30.00"})
    assert sandbox_reports(lifecycle, d, "refunded", "30.00") == 200
    assert lifecycle.transaction(d).status is Status.REFUNDED
    assert sandbox_reports(lifecycle, d, "chargeback", "30.00") == 200
    assert sandbox_reports(lifecycle, d, "reinstated", "30.00") == 200
    stored = lifecycle.transaction(d)
    money = deposit_money(stored)
    assert money.reinstated == 0, "a dispute won returned the payout's refund"
    backoffice.resolve(d, "credit")
    lifecycle.drain()
    assert balance(api) == START == ledger_sum(api)


# --- control (held up): Stripe's running total, a failed to-source refund, a retry ---
def test_stripe_running_total_with_a_failed_return_and_a_retry_pays_once(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    from tests.integration.functions.test_provider_reversals import (
        charge,
        stripe_credited,
        stripe_post,
    )
    from tests.support import providers

    deposit = stripe_credited(lifecycle)  # 100.00 -> 200.00
    d = deposit.transaction_id
    approved_with_route(api, backoffice, "30.00", {d: "30.00"})
    assert balance(api) == Decimal("170.00")
    assert stripe_post(lifecycle, "charge.refunded", charge(3000)) == 200  # the payout
    assert balance(api) == Decimal("170.00")
    failed = providers.stripe_object(
        "refund", id="re_1", charge="ch_rev", payment_intent="pi_rev", amount=3000,
        currency="usd", status="failed", metadata={},
    )  # fmt: skip
    assert stripe_post(lifecycle, "refund.failed", failed) == 200
    assert backoffice.resolve(d, "credit")[0] == 200
    lifecycle.drain()
    assert balance(api) == Decimal("200.00")  # the payout never arrived: back
    # Retried at Stripe: the running total is 30.00 again, now a plain refund.
    assert stripe_post(lifecycle, "charge.refunded", charge(3000)) == 200
    assert balance(api) == Decimal("170.00") == ledger_sum(api)
