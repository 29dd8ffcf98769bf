"""Events from another world, through the real webhook handler against moto:
another mode (Stripe livemode, Adyen live), another merchant account, or
verified only with another brand's secret are recorded and never applied; and
nothing a sender puts in an Adyen body answers 5xx."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from cashier_core.models import ProviderConfig, Transaction
from cashier_core.statuses import Status
from tests.support import builders, providers
from tests.support.lifecycle import Lifecycle

BETA_ADYEN_KEY = "ab" * 32


def pending(lifecycle: Lifecycle, provider: str, method_id: str, account_id: str) -> Transaction:
    account = lifecycle.api.aws.accounts().get(account_id)
    return lifecycle.api.aws.transactions().create(
        builders.transaction(
            account, status=Status.PENDING_PAYMENT, provider=provider, method_id=method_id,
            provider_reference="cs_test_scope" if provider == "stripe" else "PLscope",
            amount="40.00",
        )
    )  # fmt: skip


def outcomes(lifecycle: Lifecycle) -> list[str]:
    return [d["outcome"]["S"] for d in lifecycle.deliveries()]


def alpha_secret(lifecycle: Lifecycle, provider: str) -> str:
    return str(
        lifecycle.api.secrets[f"cashier/webhooks/brand-alpha/{provider}"]["webhook_secrets"][0]
    )


def stripe_completed(deposit: Transaction, *, livemode: bool) -> bytes:
    session = providers.stripe_object(
        "checkout_session", id="cs_test_scope", client_reference_id=deposit.transaction_id,
        payment_intent="pi_scope", payment_status="paid", status="complete", amount_total=4000,
        amount_subtotal=4000, currency="usd",
    )  # fmt: skip
    event_id = f"evt_{'live' if livemode else 'test'}_scope"
    event = json.loads(
        providers.stripe_event("checkout.session.completed", session, event_id=event_id)
    )
    event["livemode"] = livemode  # Stripe's own field, as a live account sends it
    return json.dumps(event).encode()


def post_stripe(lifecycle: Lifecycle, body: bytes) -> int:
    signature = providers.stripe_signature(body, alpha_secret(lifecycle, "stripe"))
    return lifecycle.post_webhook("stripe", body, [("Stripe-Signature", signature)])[0]


def adyen_authorisation(deposit: Transaction, **item_fields: Any) -> dict[str, Any]:
    item = providers.adyen_item(
        code="AUTHORISATION", merchant_reference=deposit.transaction_id,
        psp_reference="8816", amount=(4000, deposit.currency),
    )  # fmt: skip
    return {**item, **item_fields}


def test_a_live_stripe_event_never_moves_a_test_configs_deposit(lifecycle: Lifecycle) -> None:
    deposit = pending(lifecycle, "stripe", "card-stripe", "acc-alice-usd")
    assert post_stripe(lifecycle, stripe_completed(deposit, livemode=True)) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PENDING_PAYMENT
    assert outcomes(lifecycle) == ["ignored: out of scope: a live event for a test config"]
    # The same event in the config's own mode is applied.
    assert post_stripe(lifecycle, stripe_completed(deposit, livemode=False)) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PROVIDER_CONFIRMED


@pytest.mark.parametrize(
    ("live", "item_fields", "outcome"),
    [
        ("true", {}, "a live event for a test config"),
        ("false", {"merchantAccountCode": "SomeoneElsesECOM"}, "merchant account 'SomeoneElsesECOM' is not the config's"),
    ],
)  # fmt: skip
def test_an_adyen_event_from_another_mode_or_merchant_account_is_recorded_only(
    lifecycle: Lifecycle, live: str, item_fields: dict[str, str], outcome: str
) -> None:
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur")
    item = providers.adyen_signed(
        adyen_authorisation(deposit, **item_fields), alpha_secret(lifecycle, "adyen")
    )
    status, body = lifecycle.adyen_webhook(providers.adyen_notification(item, live=live))
    assert (status, body) == (200, "[accepted]")
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PENDING_PAYMENT
    assert outcomes(lifecycle) == [f"ignored: out of scope: {outcome}"]
    assert lifecycle.receive() == []


def test_an_event_verified_only_with_another_brands_secret_is_recorded_only(
    lifecycle: Lifecycle,
) -> None:
    aws = lifecycle.api.aws
    aws.secretsmanager.create_secret(
        Name="cashier/webhooks/brand-beta/adyen",
        SecretString=json.dumps({"webhook_secrets": [BETA_ADYEN_KEY]}),
    )
    aws.provider_configs().put(
        ProviderConfig(
            brand_id="brand-beta", provider="adyen", method_id="card-adyen",
            display_name="Card (Adyen)", currencies=frozenset({"EUR"}),
            settings={"live": "false", "merchant_account": providers.ADYEN_MERCHANT_ACCOUNT},
            webhook_secret_ref="cashier/webhooks/brand-beta/adyen",
        )
    )  # fmt: skip
    alpha_deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur")
    item = providers.adyen_signed(adyen_authorisation(alpha_deposit), BETA_ADYEN_KEY)
    status, _ = lifecycle.adyen_webhook(providers.adyen_notification(item))
    assert status == 200
    assert lifecycle.transaction(alpha_deposit.transaction_id).status is Status.PENDING_PAYMENT
    assert outcomes(lifecycle) == [
        "ignored: out of scope: verified with another config's secret, not this deposit's"
    ]


def _nested(depth: int) -> bytes:
    return b'{"notificationItems": ' + b"[" * depth + b"]" * depth + b"}"


HOSTILE_ADYEN_BODIES = {
    "nested past the parser's depth": _nested(100_000),
    "a top-level array nested deep": b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": b'{"live": "\xff\xfe"}',
    "a top-level array": b"[]",
    "items not a list": b'{"notificationItems": {"NotificationRequestItem": {}}}',
    "an item not an object": b'{"notificationItems": [{"NotificationRequestItem": 5}]}',
}


def _item_with(**fields: Any) -> bytes:
    """An item with a (forged) signature, so a verifier reaches the HMAC."""
    item = providers.adyen_item(
        code="AUTHORISATION", merchant_reference="txn-x", psp_reference="1", amount=(100, "EUR")
    )
    forged = {"additionalData": {"hmacSignature": "Zm9yZ2Vk"}}
    return providers.adyen_notification({**item, **forged, **fields})


HOSTILE_ADYEN_BODIES |= {
    "a number for amount": _item_with(amount=5),
    "a list for amount": _item_with(amount=[1, 2]),
    "a string amount value": _item_with(amount={"value": "100", "currency": "EUR"}),
    "a nested amount value": _item_with(amount={"value": {"v": 1}, "currency": "EUR"}),
    "an object for eventCode": _item_with(eventCode={"a": 1}),
    "nested additionalData": _item_with(additionalData={"hmacSignature": {"x": [1]}}),
    "a list for additionalData": _item_with(additionalData=["hmacSignature"]),
}


@pytest.mark.parametrize("body", HOSTILE_ADYEN_BODIES.values(), ids=list(HOSTILE_ADYEN_BODIES))
def test_nothing_a_sender_puts_in_an_adyen_body_answers_5xx(
    lifecycle: Lifecycle, body: bytes
) -> None:
    status, reply, response = lifecycle.post_webhook("adyen", body, [])
    assert status in (400, 401), response
    assert reply["error"]["code"] in ("webhook_signature_invalid", "webhook_malformed")
    assert "Traceback" not in response["body"]
    assert lifecycle.deliveries() == []


def test_a_signed_adyen_item_of_the_wrong_shape_is_refused_not_crashed(
    lifecycle: Lifecycle,
) -> None:
    """Signed by Adyen's library with our key, and still not Adyen's shape."""
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur")
    item = providers.adyen_signed(adyen_authorisation(deposit), alpha_secret(lifecycle, "adyen"))
    item["additionalData"]["extra"] = {"nested": {"deeper": [1]}}
    status, reply, _ = lifecycle.post_webhook("adyen", providers.adyen_notification(item), [])
    assert (status, reply["error"]["code"]) == (401, "webhook_signature_invalid")
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PENDING_PAYMENT


def test_adyens_basic_auth_is_required_before_the_body_is_read_when_configured(
    lifecycle: Lifecycle,
) -> None:
    from cashier_core.cashier import forget_secrets

    name = "cashier/webhooks/brand-alpha/adyen"
    key = alpha_secret(lifecycle, "adyen")
    lifecycle.api.aws.secretsmanager.put_secret_value(
        SecretId=name,
        SecretString=json.dumps({"webhook_secrets": [key], "basic_auth": ["adyen-alpha:s3cret"]}),
    )
    forget_secrets()
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur")
    body = providers.adyen_notification(providers.adyen_signed(adyen_authorisation(deposit), key))

    def basic(pair: str) -> list[tuple[str, str]]:
        return [("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())]

    for headers in ([], basic("adyen-alpha:wrong"), [("Authorization", "Bearer x")]):
        status, reply, _ = lifecycle.post_webhook("adyen", body, headers)
        assert (status, reply["error"]["code"]) == (401, "webhook_signature_invalid")
    status, reply, _ = lifecycle.post_webhook("adyen", _nested(100_000), [])
    assert status == 401  # refused on the header, the body never parsed
    assert lifecycle.deliveries() == []
    status, reply, _ = lifecycle.post_webhook("adyen", body, basic("adyen-alpha:s3cret"))
    assert (status, reply) == (200, "[accepted]")
    assert lifecycle.transaction(deposit.transaction_id).status is Status.PROVIDER_CONFIRMED
    [delivery] = lifecycle.deliveries()
    assert "authorization" not in json.dumps(delivery).lower()  # never stored
