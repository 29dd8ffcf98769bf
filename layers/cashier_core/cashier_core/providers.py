"""The one small interface every payment module implements, and the registry of
the modules this deployment has loaded.

A module lives in providers/cashier_providers/<name>.py and exposes PROVIDER.
Importing a module must stay cheap: a provider SDK is imported inside the call
that needs it, so listing methods never pays for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from cashier_core.models import ProviderConfig, Transaction
from cashier_core.provider_amounts import ProviderCurrencies
from cashier_core.provider_config import ConfigScope
from cashier_core.settings import settings
from cashier_core.signals import ProviderEffect
from cashier_core.statuses import Status


@dataclass(frozen=True, slots=True)
class Credentials:
    """A config's API credentials, read from Secrets Manager by the functions
    that call providers; never logged or stored elsewhere. Webhook secrets are
    another secret (Cashier.webhook_secrets), the only one the public webhook
    function may read."""

    api_key: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    transaction: Transaction
    config: ProviderConfig
    credentials: Credentials
    return_url: str | None
    webhook_url: str | None


@dataclass(frozen=True, slots=True)
class CreatedPayment:
    provider_reference: str
    status: Status  # normally pending_payment
    redirect_url: str | None = None
    instructions: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One provider event, normalized. The provider's references of the payment
    and our transaction id find the transaction, in the order the module gives:
    a refund names the payment by the provider's reference, and its own
    merchant reference may be anyone's."""

    provider_event_id: str
    effect: ProviderEffect
    raw_status: str
    transaction_id: str | None = None
    # Every reference of the payment this event may carry, most specific first.
    provider_references: tuple[str, ...] = ()
    # Look the payment up by its provider references before our own id.
    references_first: bool = False
    amount: Decimal | None = None
    currency: str | None = None
    # The reference the provider uses for this payment from now on (Stripe's
    # PaymentIntent once a Checkout Session completes, Adyen's pspReference of
    # the authorisation); stored with the change.
    new_provider_reference: str | None = None
    # The provider's id of this movement of money (signals.ProviderReport).
    movement_reference: str | None = None
    cumulative: bool = False
    # For money coming back: the movement it returns (a dispute's withdrawal);
    # nothing returns unless that movement is recorded.
    reinstates: str | None = None
    # The world the provider says the event is from (Stripe's livemode, Adyen's
    # live flag and merchant account); None where the provider does not say.
    live: bool | None = None
    merchant_account: str | None = None
    # When the provider made the event (epoch seconds; Stripe's `created`): a
    # running total is read against the refund failures before and after it.
    occurred_at: int | None = None

    @property
    def target(self) -> Status | None:
        """The status the event asks for, where it asks for one (delivery records)."""
        return self.effect.status


def _always(_: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class EventRule:
    """One row of a module's event table (its EVENTS): which of the provider's
    events, under which condition, has which effect. The module parses by its
    table, and the README's provider tables are generated from it."""

    event: str
    effect: ProviderEffect | None  # None: acknowledged and not stored
    when: str = ""  # the condition, in words
    detail: str = ""  # what the effect takes from the event
    matches: Callable[[Mapping[str, Any]], bool] = _always


def first_rule(rules: Sequence[EventRule], event: str, obj: Mapping[str, Any]) -> EventRule | None:
    return next((r for r in rules if r.event == event and r.matches(obj)), None)


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """What a provider's status API says of one payment (the janitor's question)."""

    status: Status
    amount: Decimal | None = None
    currency: str | None = None
    # The provider's own reference of the payment, when it has one by now.
    provider_reference: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the provider expects back when a delivery was accepted."""

    status_code: int = 200
    body: str = '{"received": true}'
    content_type: str = "application/json"


@runtime_checkable
class PaymentProvider(Protocol):
    name: str
    redirects: bool
    # How long a payment may wait in pending_payment before the janitor gives up.
    payment_expiry: timedelta
    # False only for a module whose provider never reports amounts: then a
    # confirmation without one is credited. Otherwise it goes to manual_review.
    reports_amounts: bool
    # The provider's own units of every currency it takes (provider_amounts.py).
    currencies: ProviderCurrencies

    def check_config(self, config: ProviderConfig, *, local_stage: bool) -> ConfigScope:
        """The config's test/live scope; raise ConfigurationError for a config
        that must not be used (a URL off the module's allow-list, no mode)."""

    def create_payment(self, request: PaymentRequest) -> CreatedPayment: ...

    def verify_webhook(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        now: datetime,
    ) -> str:
        """The one of `secrets` that signed exactly `body`; raise WebhookRejected
        when none did. Verify before parsing anything a sender controls."""

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Events of a verified body; raise WebhookMalformed if it is not parseable."""

    def answer(self) -> WebhookAnswer: ...

    def query_status(
        self, transaction: Transaction, config: ProviderConfig, credentials: Credentials
    ) -> PaymentStatus | None:
        """The payment's status at the provider, or None when it cannot be asked."""


def loaded_provider_names() -> frozenset[str]:
    """The deployment's explicit list; a config whose module is absent never shows."""
    return settings().loaded_providers


_modules: dict[str, PaymentProvider] = {}


def get_provider(name: str) -> PaymentProvider | None:
    """The loaded module called `name`, or None if this deployment does not load it."""
    if name not in loaded_provider_names():
        return None
    if name not in _modules:
        module = importlib.import_module(f"cashier_providers.{name}")
        provider = module.PROVIDER
        if not isinstance(provider, PaymentProvider):
            raise TypeError(f"cashier_providers.{name}.PROVIDER does not implement PaymentProvider")
        _modules[name] = provider
    return _modules[name]
