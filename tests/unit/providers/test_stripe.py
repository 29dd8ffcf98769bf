"""Stripe: signatures made by the official SDK's own helper, recorded-shape
payloads, and the real SDK over a recorded transport (never the network)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import stripe

from cashier_core.errors import (
    AmountNotPayableAtProvider,
    ProviderRefused,
    ProviderUnavailable,
    WebhookRejected,
)
from cashier_core.models import ProviderConfig
from cashier_core.providers import Credentials, PaymentRequest
from cashier_core.signals import ProviderEffect
from cashier_providers.stripe import StripeProvider, to_stripe_amount
from tests.support import builders
from tests.support.providers import stripe_event, stripe_object

SECRET = "whsec_test_secret"
NOW = datetime.now(UTC)
CONFIG = ProviderConfig(
    brand_id="b", provider="stripe", method_id="card-stripe", display_name="Card",
    currencies=frozenset({"USD", "JPY", "KWD"}), settings={"mode": "test", "api_base": "http://127.0.0.1:9"},
)  # fmt: skip


def event(kind: str, obj: dict[str, Any]) -> bytes:
    """Stripe's published Event around `obj` (tests/support/providers)."""
    return stripe_event(kind, obj, event_id="evt_1Q")


# Stripe's published objects, with our values put in.
SESSION = stripe_object(
    "checkout_session", id="cs_test_a1", client_reference_id="txn-1",
    metadata={"transaction_id": "txn-1"}, payment_intent="pi_3Q", payment_status="paid",
    status="complete", amount_total=2500, amount_subtotal=2500, currency="usd",
)  # fmt: skip
CHARGE = stripe_object(
    "charge", id="ch_1", payment_intent="pi_3Q", refunded=True, amount=2500,
    amount_captured=2500, amount_refunded=2500, currency="usd", metadata={},
)  # fmt: skip
DISPUTE = stripe_object(
    "dispute", id="dp_1", payment_intent="pi_3Q", amount=2500, currency="usd",
    status="needs_response",
)  # fmt: skip


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return {"Stripe-Signature": header}


def test_the_sdks_own_signature_verifies() -> None:
    body = event("checkout.session.completed", SESSION)
    StripeProvider().verify_webhook(body, signed(body), ["whsec_other", SECRET], NOW)


@pytest.mark.parametrize(
    ("body_change", "secret", "age"),
    [(b"", "whsec_wrong", 0), (b" ", SECRET, 0), (b"", SECRET, 301)],
)
def test_wrong_secret_tampered_or_expired_is_rejected(
    body_change: bytes, secret: str, age: int
) -> None:
    body = event("checkout.session.completed", SESSION)
    headers = signed(body, secret, int(time.time()) - age)
    with pytest.raises(WebhookRejected):
        StripeProvider().verify_webhook(body + body_change, headers, [SECRET], NOW)


E = ProviderEffect


@pytest.mark.parametrize(
    ("kind", "obj", "effect", "reference", "new_reference"),
    [
        ("checkout.session.completed", SESSION, E.CONFIRMED, "cs_test_a1", "pi_3Q"),
        ("checkout.session.async_payment_succeeded", SESSION, E.CONFIRMED, "cs_test_a1", "pi_3Q"),
        ("checkout.session.async_payment_failed", {**SESSION, "payment_status": "unpaid"}, E.FAILED, "cs_test_a1", None),
        ("checkout.session.expired", {**SESSION, "status": "expired"}, E.CANCELLED, "cs_test_a1", None),
        ("charge.refunded", CHARGE, E.REFUND, "pi_3Q", None),
        ("charge.dispute.created", DISPUTE, E.CHARGEBACK, "pi_3Q", None),
        ("charge.dispute.funds_withdrawn", DISPUTE, E.CHARGEBACK, "pi_3Q", None),
        ("charge.dispute.funds_reinstated", {**DISPUTE, "status": "won"}, E.REINSTATED, "pi_3Q", None),
        ("charge.dispute.closed", {**DISPUTE, "status": "won"}, E.REINSTATED, "pi_3Q", None),
        ("charge.dispute.closed", {**DISPUTE, "status": "lost"}, E.NOTICE, "pi_3Q", None),
    ],
)  # fmt: skip
def test_mapped_events(
    kind: str, obj: dict, effect: ProviderEffect, reference: str, new_reference: str | None
) -> None:
    [normalized] = StripeProvider().parse_webhook(event(kind, obj))
    assert normalized.effect is effect
    assert normalized.provider_references[0] == reference
    assert normalized.new_provider_reference == new_reference
    assert (normalized.amount, normalized.currency) == (Decimal("25.00"), "USD")
    assert normalized.provider_event_id == "evt_1Q"


def test_a_partial_refund_reports_the_running_total_of_refunds() -> None:
    partial = {**CHARGE, "refunded": False, "amount_refunded": 700}
    [normalized] = StripeProvider().parse_webhook(event("charge.refunded", partial))
    assert (normalized.effect, normalized.amount, normalized.cumulative) == (
        E.REFUND,
        Decimal("7.00"),
        True,
    )
    assert normalized.movement_reference == "refunds-to:7.00"


def test_a_dispute_and_its_withdrawal_name_one_movement_and_its_reinstatement_returns_it() -> None:
    opened, withdrawn, reinstated = (
        StripeProvider().parse_webhook(event(kind, DISPUTE))[0]
        for kind in (
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.funds_reinstated",
        )
    )
    assert opened.movement_reference == withdrawn.movement_reference == "dp_1:withdrawn"
    assert reinstated.movement_reference == "dp_1:reinstated"
    assert reinstated.reinstates == "dp_1:withdrawn"


def test_stripes_published_dispute_is_an_inquiry_and_moves_no_money() -> None:
    inquiry = stripe_object("dispute", payment_intent="pi_3Q")  # status warning_needs_response
    [normalized] = StripeProvider().parse_webhook(event("charge.dispute.created", inquiry))
    assert normalized.effect is E.DISPUTE_NOTICE


@pytest.mark.parametrize("kind", ["charge.refund.updated", "refund.failed"])
def test_a_failed_refund_returns_its_amount(kind: str) -> None:
    refund = stripe_object("refund", id="re_1", payment_intent="pi_3Q", amount=700, status="failed")
    [normalized] = StripeProvider().parse_webhook(event(kind, refund))
    assert (normalized.effect, normalized.amount) == (E.REFUND_FAILED, Decimal("7.00"))
    assert normalized.movement_reference == "re_1:failed"


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("checkout.session.completed", {**SESSION, "payment_status": "unpaid"}),
        ("charge.refund.updated", stripe_object("refund", payment_intent="pi_3Q")),
        ("payment_intent.created", stripe_object("payment_intent")),
    ],
)
def test_unpaid_pending_and_unrelated_events_change_nothing(kind: str, obj: dict) -> None:
    assert StripeProvider().parse_webhook(event(kind, obj)) == []


def test_amounts_use_stripes_units() -> None:
    assert to_stripe_amount(Decimal("25.00"), "USD") == 2500
    assert to_stripe_amount(Decimal("1500"), "JPY") == 1500
    assert to_stripe_amount(Decimal("1.230"), "KWD") == 1230
    with pytest.raises(AmountNotPayableAtProvider):
        to_stripe_amount(Decimal("1.234"), "KWD")


class RecordedStripe(stripe.HTTPClient):
    """The SDK's own transport interface, answering with recorded responses."""

    name = "recorded"

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__()
        self.status, self.body = status, body
        self.requests: list[tuple[str, str, Mapping[str, str], Any]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        **_: Any,
    ) -> tuple[str, int, Mapping[str, str]]:
        self.requests.append((method, url, headers or {}, post_data))
        return json.dumps(self.body), self.status, {"request-id": "req_1"}

    def close(self) -> None:
        pass


def payment_request(
    api_key: str | None = "sk_test_x", *, amount: str = "25.00", currency: str = "USD"
) -> PaymentRequest:
    account = builders.account(currency=currency, balance="0")
    transaction = builders.transaction(account, amount=amount)
    return PaymentRequest(
        transaction, CONFIG, Credentials(api_key=api_key), "https://alpha.example/r", None
    )


def test_create_payment_opens_a_checkout_session_with_our_id() -> None:
    recorded = RecordedStripe(
        200,
        {
            "id": "cs_test_new",
            "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_new",
        },
    )
    payment = payment_request()
    transaction_id = payment.transaction.transaction_id
    created = StripeProvider(http_client_factory=lambda: recorded).create_payment(payment)
    assert (created.provider_reference, created.redirect_url) == (
        "cs_test_new",
        "https://checkout.stripe.com/c/pay/cs_test_new",
    )
    method, url, headers, form = recorded.requests[0]
    assert (method, url) == ("post", "http://127.0.0.1:9/v1/checkout/sessions")
    fields = dict(pair.split("=", 1) for pair in form.split("&"))
    assert fields["client_reference_id"] == transaction_id
    assert fields["metadata[transaction_id]"] == transaction_id
    assert fields["mode"] == "payment"
    assert fields["line_items[0][price_data][unit_amount]"] == "2500"
    assert headers["Idempotency-Key"] == f"checkout-{transaction_id}"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": {"type": "invalid_request_error", "message": "bad", "code": "parameter_invalid"}}, ProviderRefused),
        (401, {"error": {"type": "invalid_request_error", "message": "bad key"}}, ProviderUnavailable),
        (500, {"error": {"type": "api_error", "message": "boom"}}, ProviderUnavailable),
    ],
)  # fmt: skip
def test_stripe_errors_map_to_refused_or_unavailable(
    status: int, body: dict, error: type[Exception]
) -> None:
    provider = StripeProvider(http_client_factory=lambda: RecordedStripe(status, body))
    with pytest.raises(error):
        provider.create_payment(payment_request())


def test_an_unreachable_stripe_fails_clearly_and_fast() -> None:
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        StripeProvider().create_payment(payment_request())  # api_base is a closed local port
    assert time.monotonic() - started < 15


def test_no_api_key_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        StripeProvider().create_payment(payment_request(api_key=None))


def test_a_5000_isk_deposit_sends_500000_to_stripe() -> None:
    """Stripe counts ISK in hundredths ("to charge 5 ISK, send 500"): the old
    ISO conversion sent 5000, which Stripe charged as 50 ISK."""
    recorded = RecordedStripe(
        200, {"id": "cs_test_isk", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_isk"}
    )  # fmt: skip
    StripeProvider(http_client_factory=lambda: recorded).create_payment(
        payment_request(amount="5000", currency="ISK")
    )
    _, _, _, form = recorded.requests[0]
    fields = dict(pair.split("=", 1) for pair in form.split("&"))
    assert fields["line_items[0][price_data][unit_amount]"] == "500000"
    assert fields["line_items[0][price_data][currency]"] == "isk"


@pytest.mark.parametrize(
    ("amount_total", "credited"), [(500000, Decimal("5000")), (5000, Decimal("50")), (500050, None)]
)
def test_stripes_isk_amounts_read_back_in_its_units(
    amount_total: int, credited: Decimal | None
) -> None:
    """Stripe's 500000 ISK is our 5000; the 5000 the old code sent is 50 ISK (a
    mismatch, so review); a fraction of a krona is no amount of ours (review)."""
    session = {
        **SESSION,
        "amount_total": amount_total,
        "amount_subtotal": amount_total,
        "currency": "isk",
    }
    [normalized] = StripeProvider().parse_webhook(event("checkout.session.completed", session))
    assert (normalized.amount, normalized.currency) == (credited, "ISK")


@pytest.mark.parametrize("api_key", ["sk_live_x", "rk_live_x", "pk_test_x", "whsec_x"])
def test_a_key_whose_prefix_is_not_the_configs_mode_is_never_used(api_key: str) -> None:
    """A test config never charges with a live key (nor with a key that is no
    secret key at all); nothing reaches Stripe."""
    recorded = RecordedStripe(200, {"id": "cs_test_new", "object": "checkout.session"})
    with pytest.raises(ProviderUnavailable, match="mode"):
        StripeProvider(http_client_factory=lambda: recorded).create_payment(
            payment_request(api_key=api_key)
        )
    assert recorded.requests == []


def test_a_restricted_test_key_is_a_test_key() -> None:
    recorded = RecordedStripe(
        200, {"id": "cs_test_rk", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_rk"}
    )  # fmt: skip
    StripeProvider(http_client_factory=lambda: recorded).create_payment(
        payment_request(api_key="rk_test_x")
    )
    assert len(recorded.requests) == 1


def test_a_verified_event_says_its_mode() -> None:
    body = event("checkout.session.completed", SESSION)
    assert (
        StripeProvider().verify_webhook(body, signed(body), ["whsec_other", SECRET], NOW) == SECRET
    )
    [normalized] = StripeProvider().parse_webhook(body)
    assert normalized.live is False
