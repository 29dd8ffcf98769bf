"""Sample provider webhooks as API Gateway events, and re-signing them.

The committed events/webhook_*.json are signed with EXAMPLE_SECRET at a fixed
time, so they show the real format but will not verify anywhere: sandbox and
Stripe signatures expire after 300 s, and every stack draws its own secrets.
`resign` signs an event's body again with a stack's secret and the current time
(for Adyen it re-signs every notification item), which is what `make invoke`
and the tests do before invoking the webhook function with these files.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Final

from cashier_local.events import api_event
from cashier_local.template import REPO_ROOT
from cashier_providers import signing
from cashier_providers.adyen import notification_signature

# Deliberately public, accepted by no stack: it only shows the signature format.
EXAMPLE_SECRET: Final = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"  # noqa: S105
EXAMPLE_TIME: Final = 1795536000  # 2026-11-24T12:00:00Z


def _event(provider: str, body: bytes, headers: list[tuple[str, str]]) -> dict[str, Any]:
    return api_event(
        method="POST",
        resource="/cashier/webhook/{provider}",
        path=f"/cashier/webhook/{provider}",
        path_parameters={"provider": provider},
        headers=[("Content-Type", "application/json"), *headers],
        body=body,
    )


def _stripe_header(body: bytes, secret: str, timestamp: int) -> str:
    import stripe

    header: str = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp
    )
    return header


def resign(event: dict[str, Any], secret: str, now: int | None = None) -> dict[str, Any]:
    """A copy of a webhook event signed by `secret` at `now` (default: the current time)."""
    timestamp = int(time.time()) if now is None else now
    provider = event["pathParameters"]["provider"]
    body = event["body"].encode()
    headers = dict(event["headers"])
    if provider == "sandbox":
        headers["X-Sandbox-Signature"] = signing.sign(body, secret, timestamp)
    elif provider == "stripe":
        headers["Stripe-Signature"] = _stripe_header(body, secret, timestamp)
    elif provider == "adyen":
        document = json.loads(body)
        for entry in document["notificationItems"]:
            item = entry["NotificationRequestItem"]
            additional = {
                k: v for k, v in (item.get("additionalData") or {}).items() if k != "hmacSignature"
            }
            additional["hmacSignature"] = notification_signature(item, secret)
            item["additionalData"] = additional
        body = json.dumps(document).encode()
    else:
        raise ValueError(f"no signing scheme for {provider}")
    # _event adds the Content-Type itself.
    kept = [(k, v) for k, v in headers.items() if k.lower() != "content-type"]
    return _event(provider, body, kept)


# Stripe's published example objects (from its OpenAPI fixtures), kept beside
# the tests that build all Stripe traffic from them.
STRIPE_OBJECTS: Final = REPO_ROOT / "tests" / "fixtures" / "stripe"
SAMPLE_DEPOSIT: Final = "f1b32a90-7eda-5681-a5f0-824bcf8a966f"


def _stripe_object(name: str, **ours: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((STRIPE_OBJECTS / f"{name}.json").read_text())
    return {**document, **ours}


def sample_events(deposit_id: str = SAMPLE_DEPOSIT) -> dict[str, dict[str, Any]]:
    """The committed samples: each provider's success for the sample deposit, in
    the provider's own shape (Stripe's published Event and Checkout Session with
    our values put in; an Adyen item with every documented field)."""
    sandbox = json.dumps(
        {"event_id": "evt_sample_0001", "transaction_id": deposit_id, "provider_reference": None,
         "status": "succeeded", "amount": "25.00", "currency": "USD"}
    ).encode()  # fmt: skip
    session = _stripe_object(
        "checkout_session", id="cs_test_sample", client_reference_id=deposit_id,
        metadata={"transaction_id": deposit_id}, payment_intent="pi_sample",
        payment_status="paid", status="complete", amount_total=2500, amount_subtotal=2500,
        currency="usd",
    )  # fmt: skip
    event = _stripe_object(
        "event", id="evt_1SampleStripe", type="checkout.session.completed", livemode=False,
        created=EXAMPLE_TIME, data={"object": session},
    )  # fmt: skip
    stripe_body = json.dumps(event).encode()
    adyen_body = json.dumps(
        {"live": "false", "notificationItems": [{"NotificationRequestItem": {
            "additionalData": {"paymentLinkId": "PLSAMPLE00000001"},
            "amount": {"currency": "USD", "value": 2500}, "eventCode": "AUTHORISATION",
            "eventDate": "2026-11-24T12:00:00+01:00", "merchantAccountCode": "AlphaMarketsECOM",
            "merchantReference": deposit_id, "operations": ["CANCEL", "CAPTURE", "REFUND"],
            "originalReference": "", "paymentMethod": "visa", "pspReference": "8816178952380553",
            "reason": "", "success": "true"}}]}
    ).encode()  # fmt: skip
    unsigned = {
        "webhook_sandbox.json": _event("sandbox", sandbox, []),
        "webhook_stripe.json": _event("stripe", stripe_body, []),
        "webhook_adyen.json": _event("adyen", adyen_body, []),
    }
    return {name: resign(event, EXAMPLE_SECRET, EXAMPLE_TIME) for name, event in unsigned.items()}


def main() -> int:
    """Rewrite events/webhook_*.json (`python -m cashier_local.webhook_events`)."""
    for name, event in sample_events().items():
        (REPO_ROOT / "events" / name).write_text(json.dumps(event, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
