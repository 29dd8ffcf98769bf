"""Reproducers from the adversarial review of issue 12 (reversals as amounts), kept as regression tests. Each test asserts the
CORRECT money outcome; a failing test is a finding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cashier_core.statuses import Status
from tests.integration.functions.test_provider_reversals import (
    EUR,
    USD,
    adyen_credited,
    adyen_post,
    balance,
    charge,
    dispute,
    pending,
    stripe_credited,
    stripe_post,
)
from tests.support import builders, providers
from tests.support.backoffice import BackOffice
from tests.support.lifecycle import Lifecycle


def failed_refund(refund_id: str, amount: int) -> dict[str, Any]:
    return providers.stripe_object(
        "refund", id=refund_id, charge="ch_rev", payment_intent="pi_rev", amount=amount,
        currency="usd", status="failed", metadata={},
    )  # fmt: skip


# 1. Stripe: a refund that failed, then a new refund of the same amount.
def test_stripe_new_refund_after_failed_refund_is_reversed(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = stripe_credited(lifecycle)
    assert balance(lifecycle, USD) == Decimal("200.00")
    # Refund re_1 of the whole 100: charge.refunded with running total 100.
    assert stripe_post(lifecycle, "charge.refunded", charge(10000)) == 200
    assert balance(lifecycle, USD) == Decimal("100.00")
    # The refund fails: the money came back to the merchant; a person re-credits.
    assert stripe_post(lifecycle, "charge.refund.updated", failed_refund("re_1", 10000)) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert balance(lifecycle, USD) == Decimal("200.00")
    # The merchant refunds again (re_2, 100). Stripe's Charge after a failed refund
    # no longer counts it (a new full refund is only possible because of that), so
    # the running total is again 100.
    assert stripe_post(lifecycle, "charge.refunded", charge(10000)) == 200
    # Expected: the customer got 100 back at Stripe, so 100 leaves the account.
    assert balance(lifecycle, USD) == Decimal("100.00"), "second refund was never reversed"


# 1b. Same with partial amounts, and the running total NOT going down (the
#     code's own model of Stripe): still fine? (control)
def test_stripe_partial_refund_fail_then_new_refund_total_up(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = stripe_credited(lifecycle)
    stripe_post(lifecycle, "charge.refunded", charge(3000))
    stripe_post(lifecycle, "refund.failed", failed_refund("re_1", 3000))
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert balance(lifecycle, USD) == Decimal("200.00")
    stripe_post(lifecycle, "charge.refunded", charge(3000))  # total back to 30 after failure
    assert balance(lifecycle, USD) == Decimal("170.00"), "re-refund of 30 lost"


# 2. Adyen: a refund whose originalReference we do not know, whose merchantReference
#    names another customer's deposit.
def test_adyen_refund_with_foreign_merchant_reference_does_not_touch_other_customer(
    lifecycle: Lifecycle,
) -> None:
    account = lifecycle.api.aws.accounts().get("acc-carol-eur")
    carol = lifecycle.api.aws.transactions().create(
        builders.transaction(
            account, status=Status.PENDING_PAYMENT, provider="adyen", method_id="card-adyen",
            provider_reference="PLcarol", amount="100.00",
        )
    )  # fmt: skip
    adyen_post(
        lifecycle, code="AUTHORISATION", merchant_reference=carol.transaction_id,
        psp_reference="PSPCAROL01", amount=(10000, "EUR"),
    )  # fmt: skip
    lifecycle.drain()
    start = lifecycle.api.aws.accounts().get("acc-carol-eur").balance
    assert lifecycle.transaction(carol.transaction_id).status is Status.CREDITED
    # A refund of SOMEONE ELSE's payment (PSPOTHER, not ours), whose refund request
    # reference was typed as carol's transaction id.
    adyen_post(
        lifecycle, code="REFUND", merchant_reference=carol.transaction_id,
        psp_reference="PSPREFX1", original_reference="PSPOTHER999", amount=(10000, "EUR"),
    )  # fmt: skip
    assert lifecycle.api.aws.accounts().get("acc-carol-eur").balance == start, (
        "a refund of another payment reversed carol's deposit"
    )


# 3. Adyen: one refund reported failed AND reversed (two codes, one movement).
def test_adyen_refund_failed_and_refunded_reversed_for_one_refund_reinstate_once(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = adyen_credited(lifecycle)
    start = balance(lifecycle, EUR)
    common = {"merchant_reference": "x", "original_reference": "PSPAUTH0001"}
    adyen_post(lifecycle, code="REFUND", psp_reference="R1", amount=(5000, "EUR"), **common)
    adyen_post(lifecycle, code="REFUND", psp_reference="R2", amount=(5000, "EUR"), **common)
    assert balance(lifecycle, EUR) == start - 100
    # R1 comes back, reported by two codes for the same refund psp.
    adyen_post(lifecycle, code="REFUND_FAILED", psp_reference="R1", amount=(5000, "EUR"), **common)
    adyen_post(
        lifecycle, code="REFUNDED_REVERSED", psp_reference="R1", amount=(5000, "EUR"), **common
    )
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    # Expected: only R1's 50 comes back (R2 stands): start - 50.
    assert balance(lifecycle, EUR) == start - 50, "R1 reinstated twice"


# 4. A refund arriving while the payment is still pending (found by merchantReference),
#    then the payment is confirmed and a person credits the reviewed deposit.
def test_refund_before_confirmation_then_operator_credit_does_not_credit_refunded_money(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = pending(lifecycle, "adyen", EUR, "PLearly2")
    start = balance(lifecycle, EUR)
    # The refund names the payment by a pspReference we do not know yet (its
    # merchantReference is never trusted): parked, and Adyen is asked to retry.
    assert adyen_post(
        lifecycle, code="REFUND", merchant_reference=deposit.transaction_id,
        psp_reference="PSPREFEARLY", original_reference="PSPAUTHEARLY", amount=(10000, "EUR"),
    ) == 503  # fmt: skip
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PENDING_PAYMENT
    adyen_post(
        lifecycle, code="AUTHORISATION", merchant_reference=deposit.transaction_id,
        psp_reference="PSPAUTHEARLY", amount=(10000, "EUR"),
    )  # fmt: skip
    # The janitor (or Adyen's retry) applies the parked refund before the credit.
    assert lifecycle.run("PaymentJanitorFunction")["parked_resolved"] == 1
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    # A person trying the one credit path finds nothing to credit.
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 409
    lifecycle.drain()
    # Expected: the whole 100 was refunded before the credit: nothing to credit.
    assert balance(lifecycle, EUR) == start, "credited money the provider already refunded"


# 5. Adyen: a full-amount chargeback after a partial refund (only 20 left to take),
#    then the chargeback is reversed (merchant won) and a person re-credits.
def test_reversed_chargeback_recredits_only_what_the_chargeback_took(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = adyen_credited(lifecycle)
    start = balance(lifecycle, EUR)
    common = {"merchant_reference": "x", "original_reference": "PSPAUTH0001"}
    adyen_post(lifecycle, code="REFUND", psp_reference="R1", amount=(8000, "EUR"), **common)
    adyen_post(lifecycle, code="CHARGEBACK", psp_reference="D1", amount=(10000, "EUR"), **common)
    assert balance(lifecycle, EUR) == start - 100  # 80 refunded, 20 charged back
    adyen_post(
        lifecycle, code="CHARGEBACK_REVERSED", psp_reference="D1", amount=(10000, "EUR"), **common
    )
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    # Expected: the 80 refund stands; only the 20 the chargeback took comes back.
    assert balance(lifecycle, EUR) == start - 80, "re-credited the refunded 80 too"


# 6. Adyen: a refund made with CANCEL_OR_REFUND fails: REFUND_FAILED names the
#    same pspReference. The money came back; it must reach a person / the account.
def test_failed_cancel_or_refund_is_reinstated(lifecycle: Lifecycle) -> None:
    deposit = adyen_credited(lifecycle)
    start = balance(lifecycle, EUR)
    common = {"merchant_reference": "x", "original_reference": "PSPAUTH0001"}
    item = providers.adyen_item(
        code="CANCEL_OR_REFUND", psp_reference="CR1", amount=(10000, "EUR"), **common
    )
    item["additionalData"] = {"modification.action": "refund"}
    body = providers.adyen_notification(providers.adyen_signed(item, lifecycle.adyen_secret()))
    assert lifecycle.post_webhook("adyen", body, [])[0] == 200
    assert balance(lifecycle, EUR) == start - 100
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    adyen_post(
        lifecycle, code="REFUND_FAILED", psp_reference="CR1", amount=(10000, "EUR"), **common
    )
    after = lifecycle.transaction(deposit.transaction_id)
    assert after.status is Status.MANUAL_REVIEW, (
        f"failed refund stranded: status {after.status.api_name}, last note {after.history[-1].reason!r}"
    )


# 7. Adyen batch: a refund for a payment we do not know comes first; our deposit's
#    AUTHORISATION is the second item of the same notification.
def test_unknown_refund_in_a_batch_does_not_block_the_next_items(lifecycle: Lifecycle) -> None:
    from cashier_core.cashier import Cashier
    from cashier_core.models import ParkedState

    deposit = pending(lifecycle, "adyen", EUR, "PLbatch")
    key = lifecycle.adyen_secret()
    refund = providers.adyen_item(
        code="REFUND", merchant_reference="refund-of-someone-else", psp_reference="PSPR9",
        original_reference="PSPNOTOURS", amount=(500, "EUR"),
    )  # fmt: skip
    auth = providers.adyen_item(
        code="AUTHORISATION", merchant_reference=deposit.transaction_id,
        psp_reference="PSPBATCH1", amount=(10000, "EUR"),
    )  # fmt: skip
    body = providers.adyen_notification(
        providers.adyen_signed(refund, key), providers.adyen_signed(auth, key)
    )
    status = lifecycle.post_webhook("adyen", body, [])[0]
    parked = Cashier.from_environment().parked.in_state(ParkedState.OPEN)
    applied = lifecycle.transaction(deposit.transaction_id).status is not Status.PENDING_PAYMENT
    kinds = sorted(p.raw_status for p in parked)
    # Expected: the AUTHORISATION is applied (or at least kept) even though the
    # refund item cannot be placed.
    assert applied or any(k.startswith("AUTHORISATION") for k in kinds), (
        f"answer {status}; AUTHORISATION neither applied nor parked; parked={kinds}"
    )


# 8. A signed Stripe refund with an absurd running total: must be refused/recorded
#    with a 2xx or a clean 4xx, never crash the handler.
def test_stripe_huge_refund_total_does_not_crash_the_webhook(lifecycle: Lifecycle) -> None:
    stripe_credited(lifecycle)
    body = charge(10000) | {"amount_refunded": 10**30}
    status = stripe_post(lifecycle, "charge.refunded", body)
    assert status < 500, f"webhook answered {status}"
    assert balance(lifecycle, USD) >= Decimal("100.00")


# 9. Parked dispute; the deposit is confirmed; the JANITOR applies the parked
#    event first, then Stripe retries the same event id, then the janitor runs again.
def test_parked_dispute_applied_by_janitor_then_provider_retry_moves_money_once(
    lifecycle: Lifecycle,
) -> None:
    deposit = pending(lifecycle, "stripe", USD, "cs_test_rev")
    body = providers.stripe_event(
        "charge.dispute.funds_withdrawn", dispute(amount=4000), event_id="evt_parked_1"
    )
    secret = lifecycle.api.secrets["cashier/webhooks/brand-alpha/stripe"]["webhook_secrets"][0]

    def post() -> int:
        sig = providers.stripe_signature(body, secret)
        return lifecycle.post_webhook("stripe", body, [("Stripe-Signature", sig)])[0]

    assert post() == 503  # names pi_rev, which we do not know yet: parked
    session = providers.stripe_object(
        "checkout_session", id="cs_test_rev", client_reference_id=deposit.transaction_id,
        payment_intent="pi_rev", payment_status="paid", status="complete", amount_total=10000,
        amount_subtotal=10000, currency="usd",
    )  # fmt: skip
    assert stripe_post(lifecycle, "checkout.session.completed", session) == 200
    lifecycle.drain()
    assert balance(lifecycle, USD) == Decimal("200.00")
    assert lifecycle.run("PaymentJanitorFunction")["parked_resolved"] == 1
    assert balance(lifecycle, USD) == Decimal("160.00")
    assert post() == 200  # the provider's retry: a duplicate
    lifecycle.run("PaymentJanitorFunction")
    assert balance(lifecycle, USD) == Decimal("160.00")
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
