"""Provider traffic for tests, shaped as the providers send it.

- Stripe: the published example objects (tests/fixtures/stripe, a copy of
  shared/provider-fixtures/stripe; a unit test keeps the two equal) with our
  values put in, wrapped in the published Event and signed by stripe's library.
- Adyen: a notification item with every documented field, signed by Adyen's
  library (`Adyen.util.generate_notification_sig`), never by our own code.
Never trim an object to what our parser reads: the parser must cope with the rest.
"""

from __future__ import annotations

import copy
import itertools
import json
from functools import cache
from typing import Any

from cashier_local.template import REPO_ROOT

STRIPE_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "stripe"
ADYEN_MERCHANT_ACCOUNT = "AlphaMarketsECOM"


@cache
def _stripe_fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((STRIPE_FIXTURES / f"{name}.json").read_text())
    return document


def stripe_object(name: str, **ours: Any) -> dict[str, Any]:
    """A copy of Stripe's published `name` object (checkout_session, charge,
    dispute, refund, payment_intent) with our values put in."""
    return {**copy.deepcopy(_stripe_fixture(name)), **ours}


def stripe_event(
    kind: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> bytes:
    """Stripe's published Event wrapping `obj`; the id is fixed by the kind unless
    given, so sending it again is the provider's retry of one event. `created`
    is when Stripe made it: by default a second after the event built before,
    so events built in order were made in that order (a test that delivers out
    of order says when each was made)."""
    event = stripe_object("event", id=event_id or f"evt_{kind}", type=kind, livemode=False)
    event["data"] = {"object": obj}
    event["created"] = next(_EVENT_CLOCK) if created is None else created
    return json.dumps(event).encode()


# Stripe's clock for the events tests build (epoch seconds, from the fixture's own).
_EVENT_CLOCK = itertools.count(int(stripe_object("event")["created"]))


def stripe_signature(body: bytes, secret: str) -> str:
    import stripe

    return str(stripe.WebhookSignature.generate_signature_header(body.decode(), secret))


def adyen_item(
    *,
    code: str,
    merchant_reference: str,
    psp_reference: str,
    amount: tuple[int, str] | None,
    success: str = "true",
    original_reference: str = "",
) -> dict[str, Any]:
    """A NotificationRequestItem with every documented field; `amount` is (minor
    units by Adyen's table, currency), None for an item that carries none."""
    item: dict[str, Any] = {
        "eventCode": code,
        "success": success,
        "pspReference": psp_reference,
        "originalReference": original_reference,
        "merchantAccountCode": ADYEN_MERCHANT_ACCOUNT,
        "merchantReference": merchant_reference,
        "eventDate": "2026-11-24T12:00:00+01:00",
        "reason": "",
        "paymentMethod": "visa",
        "operations": ["CANCEL", "CAPTURE", "REFUND"] if code == "AUTHORISATION" else [],
        "additionalData": {},
    }
    if amount is not None:
        item["amount"] = {"value": amount[0], "currency": amount[1]}
    return item


def adyen_signed(item: dict[str, Any], hex_key: str) -> dict[str, Any]:
    """The item with its HMAC from Adyen's library. The library needs an amount;
    an item without one is signed over empty value and currency, as Adyen's
    documented signing string has it for a missing field."""
    from Adyen.util import generate_notification_sig

    signable = item if "amount" in item else {**item, "amount": {"value": "", "currency": ""}}
    signature = generate_notification_sig(signable, hex_key)
    text = signature.decode() if isinstance(signature, bytes) else str(signature)
    return {**item, "additionalData": {**item.get("additionalData", {}), "hmacSignature": text}}


def adyen_notification(*items: dict[str, Any], live: str = "false") -> bytes:
    return json.dumps(
        {"live": live, "notificationItems": [{"NotificationRequestItem": i} for i in items]}
    ).encode()
