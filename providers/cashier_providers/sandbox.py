"""The sandbox provider: a stand-in for local runs, demos and tests.

create_payment returns a hosted-page URL (the local stack serves the page: a card
form whose test cards succeed, are declined or ask for 3-D Secure first; see
cashier_local/sandbox_page.py).
Webhooks are JSON `{event_id, transaction_id, provider_reference, status,
amount, currency}`, status one of succeeded, failed, cancelled, refunded,
chargeback, signed in `X-Sandbox-Signature` (see cashier_providers.signing).

Magic amounts, like a card network's test cards: an amount whose minor units
end in 666 makes create_payment time out (ProviderUnavailable), one ending in
403 makes the provider refuse it (ProviderRefused).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlencode

from cashier_core.errors import ProviderRefused, ProviderUnavailable, WebhookMalformed
from cashier_core.models import ProviderConfig, Transaction
from cashier_core.money import to_minor_units
from cashier_core.provider_amounts import ProviderCurrencies, iso_currencies
from cashier_core.provider_config import ConfigScope, check_url
from cashier_core.providers import (
    CreatedPayment,
    Credentials,
    EventRule,
    PaymentRequest,
    PaymentStatus,
    WebhookAnswer,
    WebhookEvent,
)
from cashier_core.signals import ProviderEffect
from cashier_core.statuses import Status
from cashier_providers import signing

SIGNATURE_HEADER: Final = "x-sandbox-signature"
E = ProviderEffect
# The sandbox's statuses and what each does (the README's table is generated
# from this). A refund or chargeback moves its event's amount; its event id
# names the movement.
EVENTS: Final = (
    EventRule("succeeded", E.CONFIRMED, "", "amount and currency are checked against ours"),
    EventRule("failed", E.FAILED),
    EventRule("cancelled", E.CANCELLED),
    EventRule("refunded", E.REFUND, "", "the event's amount is reversed"),
    EventRule("chargeback", E.CHARGEBACK, "", "the event's amount is reversed"),
    EventRule("dispute_opened", E.DISPUTE_NOTICE, "", "recorded; no money moves"),
    EventRule("reinstated", E.REINSTATED, "", "the amount came back; a person re-credits"),
    EventRule("refund_failed", E.REFUND_FAILED, "", "a refund's amount came back"),
)
STATUSES: Final = {rule.event: rule.effect for rule in EVENTS if rule.effect is not None}
DEFAULT_HOSTED_PAGE: Final = "http://127.0.0.1:3000/_sandbox/pay"


def reference_for(transaction_id: str) -> str:
    """Derived from our id, so a retried create gives the same reference."""
    return "sbx_" + hashlib.sha256(transaction_id.encode()).hexdigest()[:24]


def _page_beside(webhook_url: str | None) -> str:
    """The hosted page is served by whoever serves our webhook (the local stack)."""
    suffix = "/cashier/webhook/sandbox"
    if webhook_url and webhook_url.endswith(suffix):
        return webhook_url.removesuffix(suffix) + "/_sandbox/pay"
    return DEFAULT_HOSTED_PAGE


ISO_CURRENCIES: Final = iso_currencies("sandbox")


@dataclass(frozen=True)
class SandboxProvider:
    name: str = "sandbox"
    redirects: bool = True
    payment_expiry: timedelta = timedelta(minutes=30)
    reports_amounts: bool = True
    # ISO's units for every currency: its amounts are our decimal strings.
    currencies: ProviderCurrencies = ISO_CURRENCIES

    def check_config(self, config: ProviderConfig, *, local_stage: bool) -> ConfigScope:
        """The hosted page is the local stack's (loopback, local stage only) or,
        when unset, served beside the API's own webhook URL."""
        check_url(
            config, "hosted_page_url", allowed_host=lambda _host: False, local_stage=local_stage
        )
        return ConfigScope()

    def create_payment(self, request: PaymentRequest) -> CreatedPayment:
        transaction = request.transaction
        minor = to_minor_units(transaction.amount, transaction.currency)
        if minor % 1000 == 666:
            raise ProviderUnavailable("The sandbox timed out (magic amount ...666).")
        if minor % 1000 == 403:
            raise ProviderRefused("The sandbox refused the payment (magic amount ...403).")
        reference = reference_for(transaction.transaction_id)
        page = request.config.settings.get("hosted_page_url") or _page_beside(request.webhook_url)
        query = {"transaction_id": transaction.transaction_id}
        if request.return_url:
            query["return_url"] = request.return_url
        return CreatedPayment(
            provider_reference=reference,
            status=Status.PENDING_PAYMENT,
            redirect_url=f"{page}/{reference}?{urlencode(query)}",
        )

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> str:
        lowered = {key.lower(): value for key, value in headers.items()}
        return signing.verify(body, lowered.get(SIGNATURE_HEADER), secrets, now)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        try:
            document: Any = json.loads(body)
        except (ValueError, RecursionError):
            raise WebhookMalformed() from None
        if not isinstance(document, dict):
            raise WebhookMalformed()
        fields = ("event_id", "status", "amount", "currency")
        if not all(isinstance(document.get(field), str) for field in fields):
            raise WebhookMalformed("event_id, status, amount and currency are strings.")
        effect = STATUSES.get(document["status"])
        if effect is None:
            raise WebhookMalformed(f"Unknown sandbox status {document['status'][:32]!r}.")
        try:
            amount = Decimal(document["amount"])
        except InvalidOperation:
            raise WebhookMalformed("amount is not a decimal string.") from None
        transaction_id = document.get("transaction_id")
        reference = document.get("provider_reference")
        if not isinstance(transaction_id, str) and not isinstance(reference, str):
            raise WebhookMalformed("transaction_id or provider_reference is required.")
        return [
            WebhookEvent(
                provider_event_id=document["event_id"],
                effect=effect,
                raw_status=document["status"],
                transaction_id=transaction_id if isinstance(transaction_id, str) else None,
                provider_references=(reference,) if isinstance(reference, str) else (),
                amount=amount,
                currency=document["currency"],
                movement_reference=document["event_id"]
                if effect in (E.REFUND, E.CHARGEBACK, E.REINSTATED, E.REFUND_FAILED)
                else None,
            )
        ]

    def answer(self) -> WebhookAnswer:
        return WebhookAnswer()

    def query_status(
        self, transaction: Transaction, config: ProviderConfig, credentials: Credentials
    ) -> PaymentStatus | None:
        return None  # the sandbox has no status API; the janitor cancels after expiry


PROVIDER = SandboxProvider()
