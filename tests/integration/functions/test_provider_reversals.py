"""Refunds and disputes as the providers really send them, through the real
webhook handler and credit worker: partial amounts, running totals, inquiries,
reinstatements and events named only by the provider's references. Every test
ends with each balance equal to the sum of its ledger (the suite's fixture)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.lifecycle import ProviderEffect, ProviderReport
from cashier_core.models import LedgerKind, MoneyEffect, ParkedState, Transaction
from cashier_core.statuses import PublicReason, Status
from cashier_core.transitions import execute
from cashier_core.webhooks import PARKED_RETRY_WINDOW, resolve_parked
from tests.support import builders, providers
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle

USD = "acc-alice-usd"  # seeded with 100.00
EUR = "acc-alice-eur"


def balance(lifecycle: Lifecycle, account_id: str) -> Decimal:
    return lifecycle.api.aws.accounts().get(account_id).balance


def reversal_entries(lifecycle: Lifecycle, transaction_id: str) -> list[Decimal]:
    aws = lifecycle.api.aws
    entries = aws.accounts().ledger(aws.transactions().get(transaction_id).account_id)
    return sorted(
        e.amount
        for e in entries
        if e.transaction_id == transaction_id and e.kind is LedgerKind.REVERSAL
    )


def pending(lifecycle: Lifecycle, provider: str, account_id: str, reference: str) -> Transaction:
    account = lifecycle.api.aws.accounts().get(account_id)
    return lifecycle.api.aws.transactions().create(
        builders.transaction(
            account, status=Status.PENDING_PAYMENT, provider=provider, method_id=f"card-{provider}",
            provider_reference=reference, amount="100.00",
        )
    )  # fmt: skip


# --- Stripe ------------------------------------------------------------------------
def stripe_post(
    lifecycle: Lifecycle, kind: str, obj: dict[str, Any], *, created: int | None = None
) -> int:
    """A new Stripe event (its own id) carrying `obj`, made at `created` (default: after the last)."""
    body = providers.stripe_event(
        kind, obj, event_id=f"evt_{uuid.uuid4().hex[:24]}", created=created
    )
    secret = lifecycle.api.secrets["cashier/webhooks/brand-alpha/stripe"]["webhook_secrets"][0]
    signature = providers.stripe_signature(body, secret)
    return lifecycle.post_webhook("stripe", body, [("Stripe-Signature", signature)])[0]


def stripe_credited(lifecycle: Lifecycle) -> Transaction:
    """A 100.00 Stripe deposit, paid and credited (the PaymentIntent pi_rev is its reference)."""
    deposit = pending(lifecycle, "stripe", USD, "cs_test_rev")
    session = providers.stripe_object(
        "checkout_session", id="cs_test_rev", client_reference_id=deposit.transaction_id,
        payment_intent="pi_rev", payment_status="paid", status="complete", amount_total=10000,
        amount_subtotal=10000, currency="usd",
    )  # fmt: skip
    assert stripe_post(lifecycle, "checkout.session.completed", session) == 200
    lifecycle.drain()
    credited = lifecycle.transaction(deposit.transaction_id)
    assert (credited.status, credited.provider_reference) == (Status.CREDITED, "pi_rev")
    return credited


def charge(refunded_total: int) -> dict[str, Any]:
    """Stripe's published Charge of pi_rev with a running total of refunds."""
    return providers.stripe_object(
        "charge", id="ch_rev", payment_intent="pi_rev", amount=10000, amount_captured=10000,
        amount_refunded=refunded_total, refunded=refunded_total == 10000, currency="usd",
        metadata={},
    )  # fmt: skip


def dispute(status: str = "needs_response", amount: int = 10000) -> dict[str, Any]:
    return providers.stripe_object(
        "dispute", id="dp_rev", charge="ch_rev", payment_intent="pi_rev", amount=amount,
        currency="usd", status=status,
    )  # fmt: skip


def test_stripe_partial_refunds_reverse_their_amounts_until_nothing_is_left(
    lifecycle: Lifecycle,
) -> None:
    deposit = stripe_credited(lifecycle)
    assert balance(lifecycle, USD) == Decimal("200.00")
    assert stripe_post(lifecycle, "charge.refunded", charge(3000)) == 200
    partly = lifecycle.transaction(deposit.transaction_id)
    assert partly.status is Status.CREDITED
    assert partly.history[-1].code is PublicReason.PARTIALLY_REFUNDED
    assert partly.history[-1].money_amount == Decimal("30.00")
    assert balance(lifecycle, USD) == Decimal("170.00")
    # Stripe sends the same running total again (another event id): nothing more.
    assert stripe_post(lifecycle, "charge.refunded", charge(3000)) == 200
    assert balance(lifecycle, USD) == Decimal("170.00")
    assert stripe_post(lifecycle, "charge.refunded", charge(10000)) == 200
    refunded = lifecycle.transaction(deposit.transaction_id)
    assert refunded.status is Status.REFUNDED
    assert balance(lifecycle, USD) == Decimal("100.00")
    assert reversal_entries(lifecycle, deposit.transaction_id) == [
        Decimal("-70.00"),
        Decimal("-30.00"),
    ]
    # An older running total arriving late adds nothing.
    assert stripe_post(lifecycle, "charge.refunded", charge(3000)) == 200
    assert balance(lifecycle, USD) == Decimal("100.00")


def test_the_customers_history_shows_each_reversal_with_its_amount(
    lifecycle: Lifecycle, api: CustomerApi
) -> None:
    deposit = stripe_credited(lifecycle)
    stripe_post(lifecycle, "charge.refunded", charge(3000))
    status, body = api.history("cus-alice")
    assert status == 200
    [shown] = [t for t in body["transactions"] if t["transaction_id"] == deposit.transaction_id]
    moved = [(c["reason"], c["amount"]) for c in shown["history"] if c["amount"] is not None]
    assert moved == [("credited", "100.00"), ("partially_refunded", "30.00")]


def test_a_stripe_inquiry_moves_nothing_and_a_dispute_takes_its_amount_once(
    lifecycle: Lifecycle,
) -> None:
    deposit = stripe_credited(lifecycle)
    inquiry = providers.stripe_object("dispute", payment_intent="pi_rev", id="dp_inq")
    assert inquiry["status"] == "warning_needs_response"  # Stripe's own example
    assert stripe_post(lifecycle, "charge.dispute.created", inquiry) == 200
    assert balance(lifecycle, USD) == Decimal("200.00")
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    recorded = [d for d in lifecycle.deliveries() if "dispute was opened" in str(d)]
    assert len(recorded) == 1
    # A 40.00 dispute: created and funds_withdrawn name one movement.
    assert stripe_post(lifecycle, "charge.dispute.created", dispute(amount=4000)) == 200
    assert stripe_post(lifecycle, "charge.dispute.funds_withdrawn", dispute(amount=4000)) == 200
    assert balance(lifecycle, USD) == Decimal("160.00")
    partly = lifecycle.transaction(deposit.transaction_id)
    assert (partly.status, partly.history[-1].code) == (
        Status.CREDITED,
        PublicReason.PARTIAL_CHARGEBACK,
    )
    assert reversal_entries(lifecycle, deposit.transaction_id) == [Decimal("-40.00")]


def test_a_won_stripe_dispute_waits_for_a_person_who_recredits_exactly_what_came_back(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = stripe_credited(lifecycle)
    stripe_post(lifecycle, "charge.dispute.funds_withdrawn", dispute(amount=4000))
    assert balance(lifecycle, USD) == Decimal("160.00")
    stripe_post(lifecycle, "charge.dispute.funds_reinstated", dispute("won", 4000))
    stripe_post(lifecycle, "charge.dispute.closed", dispute("won", 4000))  # the same money
    review = lifecycle.transaction(deposit.transaction_id)
    assert (review.status, review.history[-1].money_effect) == (
        Status.MANUAL_REVIEW,
        MoneyEffect.REINSTATED,
    )
    assert balance(lifecycle, USD) == Decimal("160.00")  # never on the provider's word
    status, body = backoffice.resolve(deposit.transaction_id, "credit")
    assert status == 200, body
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    assert balance(lifecycle, USD) == Decimal("200.00")


def test_a_stripe_deposit_confirmed_by_the_janitor_is_found_by_its_dispute(
    lifecycle: Lifecycle,
) -> None:
    """The janitor's status query stores the PaymentIntent, which a Dispute names."""
    deposit = pending(lifecycle, "stripe", USD, "cs_test_jan")
    # What the janitor carries out when Stripe answers the session is complete and paid.
    report = ProviderReport(
        "stripe", ProviderEffect.CONFIRMED, "status query: provider_confirmed",
        Decimal("100.00"), "USD", new_reference="pi_rev",
    )  # fmt: skip
    execute(Cashier.from_environment(), deposit, report, source="janitor")
    lifecycle.drain()
    stripe_post(lifecycle, "charge.dispute.created", dispute())
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CHARGEBACK
    assert balance(lifecycle, USD) == Decimal("100.00")


# --- Adyen -------------------------------------------------------------------------
def adyen_post(lifecycle: Lifecycle, **fields: Any) -> int:
    item = providers.adyen_item(**fields)
    body = providers.adyen_notification(providers.adyen_signed(item, lifecycle.adyen_secret()))
    return lifecycle.post_webhook("adyen", body, [])[0]


def adyen_credited(lifecycle: Lifecycle) -> Transaction:
    deposit = pending(lifecycle, "adyen", EUR, "PLrev")
    assert (
        adyen_post(
            lifecycle, code="AUTHORISATION", merchant_reference=deposit.transaction_id,
            psp_reference="PSPAUTH0001", amount=(10000, "EUR"),
        )
        == 200
    )  # fmt: skip
    lifecycle.drain()
    credited = lifecycle.transaction(deposit.transaction_id)
    assert (credited.status, credited.provider_reference) == (Status.CREDITED, "PSPAUTH0001")
    return credited


def test_an_adyen_refund_named_only_by_original_reference_reverses_its_amount(
    lifecycle: Lifecycle,
) -> None:
    deposit = adyen_credited(lifecycle)
    start = balance(lifecycle, EUR)
    # Made in Adyen's Customer Area: the refund's own psp and merchant reference.
    assert (
        adyen_post(
            lifecycle, code="REFUND", merchant_reference="refund-request-77",
            psp_reference="PSPREF00025", original_reference="PSPAUTH0001", amount=(2500, "EUR"),
        )
        == 200
    )  # fmt: skip
    partly = lifecycle.transaction(deposit.transaction_id)
    assert (partly.status, balance(lifecycle, EUR)) == (Status.CREDITED, start - 25)
    adyen_post(
        lifecycle, code="REFUND", merchant_reference="refund-request-78",
        psp_reference="PSPREF00075", original_reference="PSPAUTH0001", amount=(7500, "EUR"),
    )  # fmt: skip
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    assert balance(lifecycle, EUR) == start - 100
    assert reversal_entries(lifecycle, deposit.transaction_id) == [
        Decimal("-75.00"),
        Decimal("-25.00"),
    ]


def test_an_adyen_dispute_lifecycle_notice_chargeback_reversed_and_second_chargeback(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = adyen_credited(lifecycle)
    start = balance(lifecycle, EUR)
    dispute_item = {
        "merchant_reference": deposit.transaction_id, "psp_reference": "PSPDISPUTE01",
        "original_reference": "PSPAUTH0001", "amount": (10000, "EUR"),
    }  # fmt: skip
    adyen_post(lifecycle, code="NOTIFICATION_OF_CHARGEBACK", **dispute_item)
    assert balance(lifecycle, EUR) == start
    adyen_post(lifecycle, code="CHARGEBACK", **dispute_item)
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CHARGEBACK
    assert balance(lifecycle, EUR) == start - 100
    adyen_post(lifecycle, code="CHARGEBACK_REVERSED", **dispute_item)
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert balance(lifecycle, EUR) == start
    adyen_post(lifecycle, code="SECOND_CHARGEBACK", **dispute_item)
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CHARGEBACK
    assert balance(lifecycle, EUR) == start - 100


def test_a_refund_larger_than_what_is_left_goes_to_review_and_takes_only_what_is_left(
    lifecycle: Lifecycle,
) -> None:
    deposit = adyen_credited(lifecycle)
    start = balance(lifecycle, EUR)
    common = {"merchant_reference": "x", "original_reference": "PSPAUTH0001"}
    adyen_post(lifecycle, code="REFUND", psp_reference="R1", amount=(8000, "EUR"), **common)
    adyen_post(lifecycle, code="CHARGEBACK", psp_reference="D1", amount=(10000, "EUR"), **common)
    review = lifecycle.transaction(deposit.transaction_id)
    assert review.status is Status.MANUAL_REVIEW
    assert balance(lifecycle, EUR) == start - 100  # 80 refunded, the 20 left reversed


def test_a_refund_before_the_payment_is_known_is_retried_not_forgotten(
    lifecycle: Lifecycle,
) -> None:
    deposit = pending(lifecycle, "adyen", EUR, "PLlate")
    refund = {
        "code": "REFUND", "merchant_reference": "r", "psp_reference": "PSPREFLATE",
        "original_reference": "PSPAUTHLATE", "amount": (10000, "EUR"),
    }  # fmt: skip
    assert adyen_post(lifecycle, **refund) == 503
    adyen_post(
        lifecycle, code="AUTHORISATION", merchant_reference=deposit.transaction_id,
        psp_reference="PSPAUTHLATE", amount=(10000, "EUR"),
    )  # fmt: skip
    assert adyen_post(lifecycle, **refund) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    lifecycle.drain()  # the credit message finds it refunded: nothing is credited
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    # The parked copy of the first try is closed by the janitor, changing nothing.
    assert lifecycle.run("PaymentJanitorFunction")["parked_resolved"] == 1
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED


# --- events that name nothing of ours yet ---------------------------------------------
def test_an_event_faster_than_our_own_write_is_parked_and_applied_by_the_janitor(
    lifecycle: Lifecycle,
) -> None:
    account = lifecycle.api.aws.accounts().get(EUR)
    start = account.balance
    early = builders.transaction(
        account, status=Status.PENDING_PAYMENT, provider="adyen", method_id="card-adyen",
        provider_reference="PLearly", amount="100.00",
    )  # fmt: skip
    # The AUTHORISATION comes before our deposit is stored.
    status = adyen_post(
        lifecycle, code="AUTHORISATION", merchant_reference=early.transaction_id,
        psp_reference="PSPEARLY01", amount=(10000, "EUR"),
    )  # fmt: skip
    assert status == 200
    cashier = Cashier.from_environment()
    [parked] = cashier.parked.in_state(ParkedState.OPEN)
    assert (parked.provider, parked.raw_status) == ("adyen", "AUTHORISATION:true")
    lifecycle.api.aws.transactions().create(early)
    result = lifecycle.run("PaymentJanitorFunction")
    assert result["parked_resolved"] == 1
    assert cashier.parked.in_state(ParkedState.OPEN) == []
    lifecycle.drain()
    assert lifecycle.transaction(early.transaction_id).status is Status.CREDITED
    assert balance(lifecycle, EUR) == start + 100


def test_an_event_still_naming_nothing_after_the_retry_window_reaches_backoffice(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    stripe_post(lifecycle, "charge.dispute.created", dispute() | {"payment_intent": "pi_nobody"})
    cashier = Cashier.from_environment()
    queue = CreditQueue.from_environment()
    assert resolve_parked(cashier, queue, datetime.now(UTC)) == (0, 0)  # still in the window
    later = datetime.now(UTC) + PARKED_RETRY_WINDOW + timedelta(minutes=1)
    assert resolve_parked(cashier, queue, later) == (0, 1)
    assert resolve_parked(cashier, queue, later) == (0, 0)  # given up once
    status, body = backoffice.call(
        "BackOfficeListParkedEventsFunction", query=[("state", "unresolved")]
    )
    assert status == 200
    [shown] = body["events"]
    assert (shown["provider"], shown["raw_status"]) == ("stripe", "charge.dispute.created")
    assert "pi_nobody" in shown["body"]
