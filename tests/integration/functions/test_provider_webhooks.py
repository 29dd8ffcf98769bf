"""Adyen and Stripe webhooks through the real handler, to credited and back."""

from __future__ import annotations

import json
from decimal import Decimal

from cashier_core.models import Transaction
from cashier_core.statuses import Status
from tests.support import builders, providers
from tests.support.lifecycle import Lifecycle


def pending(
    lifecycle: Lifecycle, provider: str, method_id: str, account_id: str, reference: str
) -> Transaction:
    account = lifecycle.api.aws.accounts().get(account_id)
    return lifecycle.api.aws.transactions().create(
        builders.transaction(
            account, status=Status.PENDING_PAYMENT, provider=provider, method_id=method_id,
            provider_reference=reference, amount="40.00",
        )
    )  # fmt: skip


def adyen_item(
    transaction: Transaction, code: str, psp: str = "8815", success: str = "true"
) -> dict:
    """An item for `transaction` (every documented field; see tests/support/providers).
    Events after the AUTHORISATION name the payment (psp 8815) as originalReference."""
    return providers.adyen_item(
        code=code,
        merchant_reference=transaction.transaction_id,
        psp_reference=psp,
        amount=(4000, transaction.currency),
        success=success,
        original_reference="" if code == "AUTHORISATION" else "8815",
    )


def adyen_batch(lifecycle: Lifecycle, *items: dict, key: str | None = None) -> bytes:
    """The items, each signed by Adyen's library with the brand's key (or `key`)."""
    secret = (
        key or lifecycle.api.secrets["cashier/webhooks/brand-alpha/adyen"]["webhook_secrets"][0]
    )
    return providers.adyen_notification(*(providers.adyen_signed(i, secret) for i in items))


def test_adyen_authorisation_credits_and_a_refund_reverses(lifecycle: Lifecycle) -> None:
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL1")
    status, body, response = lifecycle.post_webhook(
        "adyen", adyen_batch(lifecycle, adyen_item(deposit, "AUTHORISATION")), []
    )
    assert (status, body) == (200, "[accepted]")
    assert response["multiValueHeaders"]["Content-Type"] == ["text/plain"]
    lifecycle.drain()
    assert lifecycle.api.aws.accounts().get("acc-alice-eur").balance == Decimal("40.00")
    lifecycle.post_webhook(
        "adyen", adyen_batch(lifecycle, adyen_item(deposit, "REFUND", psp="9915")), []
    )
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    assert lifecycle.api.aws.accounts().get("acc-alice-eur").balance == Decimal("0.00")


def test_an_adyen_batch_with_one_bad_item_is_refused_whole(lifecycle: Lifecycle) -> None:
    first = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL1")
    second = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL2")
    good = adyen_batch(lifecycle, adyen_item(first, "AUTHORISATION"))
    bad = adyen_batch(lifecycle, adyen_item(second, "AUTHORISATION", psp="2"), key="00" * 32)
    mixed = json.loads(good)
    mixed["notificationItems"] += json.loads(bad)["notificationItems"]
    status, body, _ = lifecycle.post_webhook("adyen", json.dumps(mixed).encode(), [])
    assert (status, body["error"]["code"]) == (401, "webhook_signature_invalid")
    assert lifecycle.deliveries() == []
    assert lifecycle.transaction(first.transaction_id).status is Status.PENDING_PAYMENT


def test_adyen_redelivery_and_chargeback_reversed_go_where_the_table_says(
    lifecycle: Lifecycle,
) -> None:
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL1")
    batch = adyen_batch(lifecycle, adyen_item(deposit, "AUTHORISATION"))
    lifecycle.post_webhook("adyen", batch, [])
    lifecycle.post_webhook("adyen", batch, [])  # Adyen retries: same (psp, code, success)
    lifecycle.drain()
    lifecycle.post_webhook(
        "adyen", adyen_batch(lifecycle, adyen_item(deposit, "CHARGEBACK", psp="7")), []
    )
    lifecycle.post_webhook(
        "adyen", adyen_batch(lifecycle, adyen_item(deposit, "CHARGEBACK_REVERSED", psp="7")), []
    )
    settled = lifecycle.transaction(deposit.transaction_id)
    assert [c.status for c in settled.history][-3:] == [
        Status.CREDITED,
        Status.CHARGEBACK,
        Status.MANUAL_REVIEW,
    ]
    assert lifecycle.api.aws.accounts().get("acc-alice-eur").balance == Decimal("0.00")


stripe_event = providers.stripe_event


def stripe_post(lifecycle: Lifecycle, body: bytes) -> int:
    secret = lifecycle.api.secrets["cashier/webhooks/brand-alpha/stripe"]["webhook_secrets"][0]
    signature = providers.stripe_signature(body, secret)
    return lifecycle.post_webhook("stripe", body, [("Stripe-Signature", signature)])[0]


def paid_session(transaction: Transaction, session_id: str, intent: str, amount: int) -> dict:
    """Stripe's published Checkout Session, completed and paid for our deposit."""
    return providers.stripe_object(
        "checkout_session", id=session_id, client_reference_id=transaction.transaction_id,
        payment_intent=intent, payment_status="paid", status="complete", amount_total=amount,
        amount_subtotal=amount, currency=transaction.currency.lower(),
    )  # fmt: skip


def test_stripe_checkout_credits_and_a_refund_finds_it_by_payment_intent(
    lifecycle: Lifecycle,
) -> None:
    deposit = pending(lifecycle, "stripe", "card-stripe", "acc-alice-usd", "cs_test_1")
    session = paid_session(deposit, "cs_test_1", "pi_1", 4000)
    assert stripe_post(lifecycle, stripe_event("checkout.session.completed", session)) == 200
    lifecycle.drain()
    credited = lifecycle.transaction(deposit.transaction_id)
    assert (credited.status, credited.provider_reference) == (Status.CREDITED, "pi_1")
    charge = providers.stripe_object(
        "charge", id="ch_1", payment_intent="pi_1", refunded=True, amount=4000,
        amount_captured=4000, amount_refunded=4000, currency="usd", metadata={},
    )  # fmt: skip
    assert stripe_post(lifecycle, stripe_event("charge.refunded", charge)) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    assert lifecycle.api.aws.accounts().get("acc-alice-usd").balance == Decimal("100.00")


def test_the_stripe_method_fails_clearly_offline(lifecycle: Lifecycle) -> None:
    status, body = lifecycle.api.deposit(
        "cus-alice",
        {"account_id": "acc-alice-usd", "method_id": "card-stripe", "amount": "25.00", "currency": "USD",
         "return_url": "https://alpha.example/return"},
    )  # fmt: skip
    assert (status, body["error"]["code"]) == (502, "provider_unavailable")
    assert "could not be reached" in body["error"]["message"]
    assert body["transaction"]["status_name"] == "failed"
