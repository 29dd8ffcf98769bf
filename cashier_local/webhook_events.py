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
import time
from typing import Any, Final

from cashier_local.events import api_event
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
            unsigned = {k: v for k, v in item.items() if k != "additionalData"}
            item["additionalData"] = {"hmacSignature": notification_signature(unsigned, secret)}
        body = json.dumps(document).encode()
    else:
        raise ValueError(f"no signing scheme for {provider}")
    return _event(provider, body, list(headers.items()))


def sample_events(deposit_id: str) -> dict[str, dict[str, Any]]:
    """The committed samples: each provider's success for the sample deposit."""
    sandbox = json.dumps(
        {"event_id": "evt_sample_0001", "transaction_id": deposit_id, "provider_reference": None,
         "status": "succeeded", "amount": "25.00", "currency": "USD"}
    ).encode()  # fmt: skip
    stripe_body = json.dumps(
        {"id": "evt_1SampleStripe", "object": "event", "type": "checkout.session.completed",
         "data": {"object": {"id": "cs_test_sample", "object": "checkout.session",
                             "client_reference_id": deposit_id, "payment_intent": "pi_sample",
                             "payment_status": "paid", "amount_total": 2500, "currency": "usd"}}}
    ).encode()  # fmt: skip
    adyen_body = json.dumps(
        {"live": "false", "notificationItems": [{"NotificationRequestItem": {
            "amount": {"currency": "USD", "value": 2500}, "eventCode": "AUTHORISATION",
            "merchantAccountCode": "AlphaMarketsECOM", "merchantReference": deposit_id,
            "pspReference": "8816178952380553", "originalReference": "", "success": "true",
            "reason": ""}}]}
    ).encode()  # fmt: skip
    unsigned = {
        "webhook_sandbox.json": _event("sandbox", sandbox, []),
        "webhook_stripe.json": _event("stripe", stripe_body, []),
        "webhook_adyen.json": _event("adyen", adyen_body, []),
    }
    return {name: resign(event, EXAMPLE_SECRET, EXAMPLE_TIME) for name, event in unsigned.items()}
