"""Stripe Checkout through the official `stripe` SDK.

- create_payment: a Checkout Session in payment mode carrying our transaction
  id as client_reference_id and in metadata (on the session and its
  PaymentIntent), with our id as Stripe's idempotency key; redirect to its url.
- webhooks: the SDK's own WebhookSignature.verify_header, once per accepted
  secret (rotation). What each event does is the EVENTS table below (the
  README's table is generated from it). Once a session completes, the
  PaymentIntent id becomes the provider reference, because refunds and
  disputes name the PaymentIntent (a Dispute carries none of its metadata).
- The API base URL is a config setting (`api_base`), so stripe-mock can stand in.

The SDK (about 90 ms of import) is imported inside the calls that need it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from cashier_core.errors import (
    ProviderRefused,
    ProviderUnavailable,
    WebhookMalformed,
    WebhookRejected,
)
from cashier_core.models import ProviderConfig, Transaction
from cashier_core.provider_amounts import ProviderCurrencies
from cashier_core.provider_config import ConfigScope, check_mode, check_url
from cashier_core.providers import (
    CreatedPayment,
    Credentials,
    EventRule,
    PaymentRequest,
    PaymentStatus,
    WebhookAnswer,
    WebhookEvent,
    first_rule,
)
from cashier_core.signals import ProviderEffect
from cashier_core.statuses import Status

SIGNATURE_HEADER: Final = "stripe-signature"
TOLERANCE_SECONDS: Final = 300
TIMEOUT_SECONDS: Final = 8
DEFAULT_API_BASE: Final = "https://api.stripe.com"

# Stripe's own units, from https://docs.stripe.com/currencies ("Supported
# presentment currencies", "Zero-decimal currencies", "Three-decimal
# currencies", "Special cases"), never ISO's:
# - zero-decimal: the amount is in whole units (MGA, whose ISO unit is 1/100,
#   included);
# - three-decimal (BHD JOD KWD OMR TND): thousandths, and "the least-significant
#   (last) digit must be 0", so a multiple of 10;
# - special cases: ISK and UGX are "effectively zero-decimal" but, "to
#   maintain backwards compatibility", are sent with two decimals ("to charge
#   5 ISK, provide an amount value of 500") and must be "evenly divisible by
#   100" (Stripe answers 400 invalid_charge_amount_no_decimal_compatible, see
#   support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds);
#   HUF and TWD are charged with two decimals (only their payouts are
#   zero-decimal, and this module pays nothing out);
# - every other presentment currency: two decimals.
# A currency missing here (CLF, IQD, LYD, the ISO fund codes) is not taken: the
# method is not offered for it and a deposit is refused, never sent.
STRIPE_ZERO_DECIMAL: Final = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF"
STRIPE_THREE_DECIMAL: Final = "BHD JOD KWD OMR TND"
STRIPE_WHOLE_UNITS_IN_HUNDREDTHS: Final = "ISK UGX"
STRIPE_TWO_DECIMAL: Final = """
    USD AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BWP
    BYN BZD CAD CDF CHF CNY COP CRC CVE CZK DKK DOP DZD EGP ETB EUR FJD FKP GBP
    GEL GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR JMD KES KGS KHR KYD KZT LAK
    LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO
    NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SEK SGD SHP
    SLE SOS SRD SZL THB TJS TOP TRY TTD TWD TZS UAH UYU UZS WST XCD YER ZAR ZMW
    """
STRIPE_CURRENCIES: Final = ProviderCurrencies(
    "Stripe",
    exponents={
        **dict.fromkeys(STRIPE_ZERO_DECIMAL.split(), 0),
        **dict.fromkeys(STRIPE_THREE_DECIMAL.split(), 3),
        **dict.fromkeys(STRIPE_TWO_DECIMAL.split(), 2),
        **dict.fromkeys(STRIPE_WHOLE_UNITS_IN_HUNDREDTHS.split(), 2),
    },
    multiple_of={
        **dict.fromkeys(STRIPE_THREE_DECIMAL.split(), 10),
        **dict.fromkeys(STRIPE_WHOLE_UNITS_IN_HUNDREDTHS.split(), 100),
    },
)


# Stripe's API is on one host; a loopback stand-in only on a local stage.
STRIPE_API_HOSTS: Final = frozenset({"api.stripe.com"})
MODES: Final = {"test": False, "live": True}
# Secret (sk_) and restricted (rk_) keys say their mode in their prefix.
KEY_MODES: Final = {"sk_test_": False, "rk_test_": False, "sk_live_": True, "rk_live_": True}


def key_is_live(api_key: str) -> bool | None:
    """Whether the key is a live key, a test key (False), or no Stripe secret key (None)."""
    return next((live for prefix, live in KEY_MODES.items() if api_key.startswith(prefix)), None)


def to_stripe_amount(amount: Decimal, currency: str) -> int:
    """Stripe's `unit_amount`; refused (never rounded) when Stripe would not take it."""
    return STRIPE_CURRENCIES.to_units(amount, currency)


def from_stripe_amount(unit_amount: object, currency: object) -> Decimal | None:
    """Our amount for Stripe's, or None when it is not exactly one of ours."""
    return STRIPE_CURRENCIES.from_units(unit_amount, currency)


def _default_http_client() -> Any:
    import stripe

    return stripe.RequestsClient(timeout=TIMEOUT_SECONDS)


@dataclass(frozen=True)
class StripeProvider:
    name: str = "stripe"
    redirects: bool = True
    # Checkout Sessions expire after 24 hours by default.
    payment_expiry: timedelta = timedelta(hours=24)
    reports_amounts: bool = True
    currencies: ProviderCurrencies = STRIPE_CURRENCIES
    http_client_factory: Callable[[], Any] = field(default=_default_http_client)

    def check_config(self, config: ProviderConfig, *, local_stage: bool) -> ConfigScope:
        """`mode` (test or live) is declared, because the webhook function may
        not read the key it comes from; the key's prefix must agree (`_client`)."""
        live = check_mode(config, "mode", MODES)
        check_url(
            config, "api_base", allowed_host=STRIPE_API_HOSTS.__contains__, local_stage=local_stage
        )
        for setting in ("success_url", "cancel_url"):
            check_url(config, setting, allowed_host=None, local_stage=local_stage)
        return ConfigScope(live=live)

    def _client(self, config: ProviderConfig, credentials: Credentials) -> Any:
        import stripe

        if not credentials.api_key:
            raise ProviderUnavailable("The Stripe method has no API key configured.")
        key_live = key_is_live(credentials.api_key)
        if key_live is None or MODES.get(config.settings.get("mode", "")) is not key_live:
            # Never charge live money from a test config, or test a live one.
            raise ProviderUnavailable(
                "The Stripe key's mode (its sk_test_/sk_live_ prefix) is not the config's mode."
            )
        return stripe.StripeClient(
            credentials.api_key,
            base_addresses={"api": config.settings.get("api_base", DEFAULT_API_BASE)},
            http_client=self.http_client_factory(),
            max_network_retries=1,
        )

    def create_payment(self, request: PaymentRequest) -> CreatedPayment:
        import stripe

        transaction = request.transaction
        settings = request.config.settings
        success_url = request.return_url or settings.get("success_url")
        if not success_url:
            raise ProviderRefused("Stripe Checkout needs a return_url.")
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": transaction.transaction_id,
            "metadata": {"transaction_id": transaction.transaction_id},
            "payment_intent_data": {"metadata": {"transaction_id": transaction.transaction_id}},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": transaction.currency.lower(),
                        "unit_amount": to_stripe_amount(transaction.amount, transaction.currency),
                        "product_data": {"name": f"Deposit to account {transaction.account_id}"},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": request.return_url or settings.get("cancel_url", success_url),
        }
        try:
            session = self._client(request.config, request.credentials).v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": f"checkout-{transaction.transaction_id}"},
            )
        except (
            stripe.APIConnectionError,
            stripe.RateLimitError,
            stripe.AuthenticationError,
        ) as error:
            raise ProviderUnavailable(
                f"Stripe could not be reached: {type(error).__name__}."
            ) from error
        except stripe.InvalidRequestError as error:
            raise ProviderRefused(
                f"Stripe refused the session: {error.user_message or error.code}."
            ) from error
        except stripe.StripeError as error:
            raise ProviderUnavailable(f"Stripe failed: {type(error).__name__}.") from error
        return CreatedPayment(
            provider_reference=session.id, status=Status.PENDING_PAYMENT, redirect_url=session.url
        )

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> str:
        import stripe

        header = {key.lower(): value for key, value in headers.items()}.get(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected("The Stripe-Signature header is missing.")
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected() from None
        for secret in secrets:
            try:
                stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError:
                continue
            return secret
        raise WebhookRejected()

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        try:
            event: Any = json.loads(body)
            event_id, kind, obj = event["id"], event["type"], event["data"]["object"]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise WebhookMalformed() from None
        if not isinstance(obj, dict) or not isinstance(event_id, str) or not isinstance(kind, str):
            raise WebhookMalformed()
        rule = first_rule(EVENTS, kind, obj)
        if rule is None or rule.effect is None:
            return []
        live = event.get("livemode") if isinstance(event, dict) else None
        event_live = live if isinstance(live, bool) else None
        created = event.get("created") if isinstance(event, dict) else None
        occurred = created if isinstance(created, int) and not isinstance(created, bool) else None
        parsed = _event(event_id, kind, rule.effect, obj)
        return [replace(parsed, live=event_live, occurred_at=occurred)]

    def answer(self) -> WebhookAnswer:
        return WebhookAnswer()

    def query_status(
        self, transaction: Transaction, config: ProviderConfig, credentials: Credentials
    ) -> PaymentStatus | None:
        """Only a session still waiting can be asked; the janitor applies the answer."""
        import stripe

        reference = transaction.provider_reference
        if not reference or not reference.startswith("cs_"):
            return None
        try:
            session = self._client(config, credentials).v1.checkout.sessions.retrieve(reference)
        except stripe.StripeError:
            return None
        if session.status == "complete" and session.payment_status == "paid":
            currency = session.currency.upper() if isinstance(session.currency, str) else None
            amount = session.amount_total
            intent = session.payment_intent
            return PaymentStatus(
                Status.PROVIDER_CONFIRMED,
                amount=from_stripe_amount(amount, currency),
                currency=currency,
                provider_reference=intent if isinstance(intent, str) else None,
            )
        if session.status == "expired":
            return PaymentStatus(Status.CANCELLED)
        return None


def _metadata_id(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata") or {}
    value = metadata.get("transaction_id") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _paid(session: Mapping[str, Any]) -> bool:
    return session.get("payment_status") in ("paid", "no_payment_required")


def _inquiry(dispute: Mapping[str, Any]) -> bool:
    """An inquiry (a retrieval request) moves no money; its statuses start with warning_."""
    status = dispute.get("status")
    return isinstance(status, str) and status.startswith("warning_")


def _refund_failed(refund: Mapping[str, Any]) -> bool:
    return refund.get("status") in ("failed", "canceled")


def _won(dispute: Mapping[str, Any]) -> bool:
    return dispute.get("status") == "won"


E = ProviderEffect
# Stripe's events and what each does (the README's Stripe table is generated
# from this). Disputes: a card dispute's funds are withdrawn when it opens and
# charge.dispute.funds_withdrawn follows; both name the same movement, so
# whichever comes first reverses it once. An inquiry (status warning_*) moves
# no money. Refunds: charge.refunded fires for partial refunds too, with the
# running total in amount_refunded.
EVENTS: Final = (
    EventRule(
        "checkout.session.completed",
        E.CONFIRMED,
        "payment_status is paid or no_payment_required",
        "amount_total; the PaymentIntent becomes the reference",
        _paid,
    ),
    EventRule(
        "checkout.session.completed",
        None,
        "payment_status is unpaid (an async method: its own event follows)",
    ),
    EventRule("checkout.session.async_payment_succeeded", E.CONFIRMED, "", "amount_total"),
    EventRule("checkout.session.async_payment_failed", E.FAILED),
    EventRule("checkout.session.expired", E.CANCELLED),
    EventRule(
        "charge.refunded",
        E.REFUND,
        "a refund of all or part",
        "amount_refunded, the running total: reverses what it adds",
    ),
    EventRule(
        "charge.refund.updated",
        E.REFUND_FAILED,
        "the refund failed or was canceled",
        "the refund's amount comes back; a person re-credits",
        _refund_failed,
    ),
    EventRule("charge.refund.updated", None, "any other refund status"),
    EventRule(
        "refund.failed",
        E.REFUND_FAILED,
        "",
        "the refund's amount comes back; a person re-credits",
        _refund_failed,
    ),
    EventRule(
        "charge.dispute.created",
        E.DISPUTE_NOTICE,
        "an inquiry (status warning_*)",
        "recorded; no money moves",
        _inquiry,
    ),
    EventRule(
        "charge.dispute.created", E.CHARGEBACK, "a dispute", "the dispute's amount is reversed"
    ),
    EventRule(
        "charge.dispute.funds_withdrawn",
        E.CHARGEBACK,
        "",
        "the dispute's amount is reversed (once, with charge.dispute.created)",
    ),
    EventRule(
        "charge.dispute.funds_reinstated",
        E.REINSTATED,
        "",
        "the dispute's amount comes back; a person re-credits",
    ),
    EventRule(
        "charge.dispute.closed",
        E.REINSTATED,
        "status won",
        "as funds_reinstated (once, with it)",
        _won,
    ),
    EventRule("charge.dispute.closed", E.NOTICE, "lost, or an inquiry closed", "recorded"),
    EventRule("charge.dispute.updated", E.NOTICE, "", "recorded"),
)


def _event(event_id: str, kind: str, effect: ProviderEffect, obj: dict[str, Any]) -> WebhookEvent:
    currency = obj.get("currency")
    currency_code = currency.upper() if isinstance(currency, str) else None

    def amount(key: str) -> Decimal | None:
        # None for anything that is not exactly one of our amounts: decided as unreadable.
        return from_stripe_amount(obj.get(key), currency_code)

    intent = _text(obj, "payment_intent")
    obj_id = _text(obj, "id")
    references = tuple(r for r in (intent,) if r)
    transaction_id = _metadata_id(obj)
    # A refund or dispute is found by the PaymentIntent first: the payment's
    # own reference, stored when it was confirmed; our id in a Charge's copy of
    # the metadata only when the PaymentIntent is not known yet.
    first = True
    moved: Decimal | None
    new_reference = movement = reinstates = None
    cumulative = False
    if kind.startswith("checkout.session."):
        transaction_id = _text(obj, "client_reference_id") or transaction_id
        references = tuple(r for r in (obj_id, intent) if r)
        first = False
        moved = amount("amount_total")
        new_reference = intent if effect is ProviderEffect.CONFIRMED else None
    elif kind == "charge.refunded":
        moved = amount("amount_refunded")
        movement = f"refunds-to:{moved}" if moved is not None else None
        cumulative = True
    elif kind in ("charge.refund.updated", "refund.failed"):
        moved = amount("amount")
        movement = f"{obj_id}:failed" if obj_id else None
    else:
        # A dispute: its own metadata is empty; it names the PaymentIntent and the charge.
        moved = amount("amount")
        withdrawn = f"{obj_id}:withdrawn" if obj_id else None
        if effect is ProviderEffect.REINSTATED:
            movement = f"{obj_id}:reinstated" if obj_id else None
            reinstates = withdrawn
        else:
            movement = withdrawn
    return WebhookEvent(
        provider_event_id=event_id,
        effect=effect,
        raw_status=kind,
        transaction_id=transaction_id,
        provider_references=references,
        references_first=first,
        amount=moved,
        currency=currency_code,
        new_provider_reference=new_reference,
        movement_reference=movement,
        cumulative=cumulative,
        reinstates=reinstates,
    )


PROVIDER = StripeProvider()
