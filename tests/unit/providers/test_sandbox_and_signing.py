"""The sandbox module and the t=,v1= signature scheme it shares with Stripe's docs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.errors import (
    ProviderRefused,
    ProviderUnavailable,
    WebhookMalformed,
    WebhookRejected,
)
from cashier_core.models import ProviderConfig
from cashier_core.providers import Credentials, PaymentRequest
from cashier_core.statuses import Status
from cashier_providers import signing
from cashier_providers.sandbox import PROVIDER, reference_for
from tests.support import builders

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BODY = b'{"event_id":"evt_1","transaction_id":"t1","status":"succeeded","amount":"25.00","currency":"USD"}'
CONFIG = ProviderConfig(
    brand_id="b",
    provider="sandbox",
    method_id="card",
    display_name="Card",
    currencies=frozenset({"USD"}),
)


def headers(value: str) -> dict[str, str]:
    return {"X-Sandbox-Signature": value}


def test_a_signature_by_an_accepted_secret_verifies() -> None:
    PROVIDER.verify_webhook(BODY, headers(signing.sign(BODY, "s1", T)), ["s0", "s1"], NOW)


def test_several_v1_values_are_allowed_during_rotation() -> None:
    old = signing.sign(BODY, "old", T).split("v1=")[1]
    new = signing.sign(BODY, "new", T).split("v1=")[1]
    PROVIDER.verify_webhook(BODY, headers(f"t={T},v1={old},v1={new}"), ["new"], NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        signing.sign(BODY, "wrong", T),
        signing.sign(BODY, "s1", T - 301),
        signing.sign(BODY, "s1", T + 301),
        signing.sign(BODY, "s1", T).replace("v1=", "v0="),
        f"t=abc,v1={'0' * 64}",
        "x" * 5000,
    ],
)
def test_anything_else_is_rejected(header: str | None) -> None:
    with pytest.raises(WebhookRejected):
        PROVIDER.verify_webhook(BODY, headers(header) if header is not None else {}, ["s1"], NOW)


@given(st.integers(min_value=0, max_value=len(BODY) - 1), st.integers(min_value=1, max_value=255))
def test_changing_any_byte_of_the_body_breaks_the_signature(position: int, delta: int) -> None:
    tampered = bytearray(BODY)
    tampered[position] = (tampered[position] + delta) % 256
    with pytest.raises(WebhookRejected):
        PROVIDER.verify_webhook(bytes(tampered), headers(signing.sign(BODY, "s1", T)), ["s1"], NOW)


@pytest.mark.parametrize(
    ("status", "target"),
    [("succeeded", Status.PROVIDER_CONFIRMED), ("failed", Status.FAILED), ("cancelled", Status.CANCELLED),
     ("refunded", Status.REFUNDED), ("chargeback", Status.CHARGEBACK)],
)  # fmt: skip
def test_statuses_normalize(status: str, target: Status) -> None:
    body = json.dumps({**json.loads(BODY), "status": status}).encode()
    [event] = PROVIDER.parse_webhook(body)
    assert (event.target, event.amount, event.currency, event.transaction_id) == (
        target,
        Decimal("25.00"),
        "USD",
        "t1",
    )


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"event_id": 1}', json.dumps({**json.loads(BODY), "status": "won"}).encode(),
     json.dumps({**json.loads(BODY), "amount": "lots"}).encode(),
     json.dumps({k: v for k, v in json.loads(BODY).items() if k != "transaction_id"}).encode()],
)  # fmt: skip
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookMalformed):
        PROVIDER.parse_webhook(body)


def request(amount: str) -> PaymentRequest:
    transaction = builders.transaction(builders.account(), amount=amount)
    return PaymentRequest(transaction, CONFIG, Credentials(), "https://alpha.example/r", None)


def test_create_returns_a_hosted_page_with_a_stable_reference() -> None:
    payment = request("25.00")
    created = PROVIDER.create_payment(payment)
    assert created.status is Status.PENDING_PAYMENT
    assert created.provider_reference == reference_for(payment.transaction.transaction_id)
    assert PROVIDER.create_payment(payment).provider_reference == created.provider_reference
    assert created.redirect_url is not None
    assert "/_sandbox/pay/sbx_" in created.redirect_url
    assert "return_url=https%3A%2F%2Falpha.example%2Fr" in created.redirect_url


def test_magic_amounts_simulate_provider_failures() -> None:
    with pytest.raises(ProviderUnavailable):
        PROVIDER.create_payment(request("16.66"))
    with pytest.raises(ProviderRefused):
        PROVIDER.create_payment(request("14.03"))
