"""ProcessCashierWebhook: verify, store once, apply through the transition table.

1. The provider module verifies the raw body against every webhook secret any
   brand has for this provider (a webhook URL names no brand). Nothing is
   parsed or written before that.
2. Each event is applied with its delivery record in one TransactWriteItems:
   the record's attribute_not_exists de-duplicates on (provider, event id), so
   a duplicate changes nothing, and a crash never records a delivery without
   its effect.
3. What the event does is lifecycle.decide's (ProviderReport), carried out by
   transitions.execute: a confirmation without our amount goes to manual_review;
   a refund or chargeback of a credited deposit reverses the credit with its
   ledger entry (the balance may go negative: counted as NegativeBalance); an
   event naming a withdrawal or another provider's deposit is recorded, never
   applied.
4. A refused or ignored event is recorded and acknowledged; the provider must
   not retry what the table will always refuse.
5. provider_confirmed is enqueued for the credit worker. If that fails the
   answer is 503 so the provider retries; the retry finds the delivery stored,
   sees provider_confirmed, and enqueues again (the credit is idempotent). The
   sweeper re-enqueues anything left behind.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import (
    ProviderNotFound,
    TransactionNotFound,
    WebhookMalformed,
    WebhookRejected,
    WebhookRetryLater,
)
from cashier_core.lifecycle import Outcome, ProviderReport, decide_unmatched
from cashier_core.logs import logger
from cashier_core.models import (
    LedgerKind,
    ParkedEvent,
    ParkedState,
    ProviderConfig,
    Transaction,
    WebhookDelivery,
)
from cashier_core.provider_config import ConfigScope
from cashier_core.providers import PaymentProvider, WebhookAnswer, WebhookEvent, get_provider
from cashier_core.telemetry import count
from cashier_core.transitions import execute

# Never stored with a delivery: they authenticate callers, they do not describe events.
SECRET_HEADERS: Final = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
MAX_STORED_BODY: Final = 256 * 1024
# How long a parked event is looked up again before a person is asked: Stripe
# retries for three days; an event still naming nothing of ours by then is not
# going to (Adyen's longer retries are covered by the janitor meanwhile).
PARKED_RETRY_WINDOW: Final = timedelta(days=3)


def webhook_secrets(
    cashier: Cashier, provider_name: str, headers: Mapping[str, str] | None = None
) -> dict[str, list[ProviderConfig]]:
    """Every webhook secret of the provider's usable configs that this request
    may be from, with the configs that hold it (one Stripe account may serve
    two brands' methods). A config whose webhook secret lists `basic_auth`
    credentials (Adyen's webhook username and password) takes only requests
    carrying one of them: checked here, before anything in the body is read."""
    authorization = _header(headers or {}, "authorization")
    holders: dict[str, list[ProviderConfig]] = {}
    for config in cashier.provider_configs_of(provider_name):
        accepted = cashier.webhook_basic_auth(config)
        if accepted and not _basic_auth_matches(authorization, accepted):
            continue
        for secret in cashier.webhook_secrets(config):
            holders.setdefault(secret, []).append(config)
    return holders


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _basic_auth_matches(authorization: str | None, accepted: tuple[str, ...]) -> bool:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not token or len(token) > 1024:
        return False
    try:
        given = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    # Every candidate is compared, in constant time each.
    matches = [hmac.compare_digest(given, pair.encode("utf-8")) for pair in accepted]
    return any(matches)


def process_webhook(
    cashier: Cashier,
    provider_name: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    queue: CreditQueue,
    now: datetime,
) -> WebhookAnswer:
    provider = get_provider(provider_name)
    if provider is None:
        raise ProviderNotFound()
    holders = webhook_secrets(cashier, provider_name, headers)
    try:
        if not holders:
            raise WebhookRejected("No config of this provider takes this request's credentials.")
        signed_by = provider.verify_webhook(body, headers, list(holders), now)
    except WebhookRejected:
        count("WebhookRejected", provider=provider_name)
        raise
    kept_headers = {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    stored_body = body[:MAX_STORED_BODY].decode("utf-8", errors="replace")
    retry_later = False
    for event in provider.parse_webhook(body):
        delivery = WebhookDelivery(
            delivery_id=WebhookDelivery.id_for(provider_name, event.provider_event_id),
            provider=provider_name,
            provider_event_id=event.provider_event_id,
            target=event.target,
            raw_status=event.raw_status,
            received_at=now,
            body=stored_body,
            headers=kept_headers,
        )
        retry = _apply(
            cashier, provider, event, delivery, queue, signers=holders.get(signed_by, [])
        )
        retry_later = retry_later or retry
    if retry_later:
        # Every event of the body was applied or parked first: one that names
        # nothing yet never keeps the others of a batch from landing.
        raise WebhookRetryLater()
    return provider.answer()


def _find(cashier: Cashier, provider: PaymentProvider, event: WebhookEvent) -> Transaction | None:
    """The transaction the event names, by our id or any of the provider's
    references of the payment, in the order the module gives. Whether the event
    may move it is lifecycle.decide's call, not the lookup's."""
    ours = [(False, event.transaction_id)] if event.transaction_id else []
    theirs = [(True, reference) for reference in event.provider_references if reference]
    for is_reference, key in (*theirs, *ours) if event.references_first else (*ours, *theirs):
        found = (
            cashier.transactions.find_by_provider_reference(provider.name, key)
            if is_reference
            else _get(cashier, key)
        )
        if found is not None:
            return found
    return None


def _get(cashier: Cashier, transaction_id: str | None) -> Transaction | None:
    if not transaction_id:
        return None
    try:
        return cashier.transactions.get(transaction_id)
    except TransactionNotFound:
        return None


def _apply(
    cashier: Cashier,
    provider: PaymentProvider,
    event: WebhookEvent,
    delivery: WebhookDelivery,
    queue: CreditQueue,
    *,
    signers: list[ProviderConfig],
) -> bool:
    """Apply one event, or park it; True when the provider should retry it."""
    transaction = _find(cashier, provider, event)
    log = {"provider": provider.name, "provider_event_id": event.provider_event_id}
    if transaction is None:
        mismatch = _unmatched_scope_mismatch(cashier, event, signers)
        unmatched = decide_unmatched(_report(provider, event, mismatch))
        if mismatch is not None:
            # Another world's event (mode, merchant account): recorded, never
            # parked or retried; it will never be ours.
            stored = cashier.deliveries.record(
                delivery.model_copy(update={"outcome": f"ignored: {unmatched.note}"})
            )
            count("WebhookOutOfScope" if stored else "WebhookDuplicate", provider=provider.name)
            logger.warning("webhook from another scope for nothing of ours", extra=log)
            return False
        # Not found yet: our own write may be slower than the provider, or the
        # event names the payment by a reference we learn from a later event.
        # Parked with its verified body and who signed it, looked up again by
        # the janitor until the provider's retry window has passed; never
        # acknowledged and lost.
        parked = cashier.parked.park(
            ParkedEvent(
                parked_id=ParkedEvent.id_for(provider.name, event.provider_event_id),
                provider=provider.name,
                provider_event_id=event.provider_event_id,
                raw_status=event.raw_status,
                received_at=delivery.received_at,
                body=delivery.body,
                headers=delivery.headers,
                signed_by=tuple(sorted({_signer_key(c) for c in signers})),
            )
        )
        count("WebhookParked" if parked else "WebhookDuplicate", provider=provider.name)
        logger.warning("webhook for no transaction found yet: parked", extra=log)
        # Money moved: the provider's own retry is a second, faster way back.
        return unmatched.outcome is Outcome.RETRY
    _settle(cashier, provider, event, delivery, queue, transaction=transaction, signers=signers)
    return False


def _signer_key(config: ProviderConfig) -> str:
    return f"{config.brand_id}#{config.method_id}"


def _settle(
    cashier: Cashier,
    provider: PaymentProvider,
    event: WebhookEvent,
    delivery: WebhookDelivery,
    queue: CreditQueue,
    *,
    transaction: Transaction,
    signers: list[ProviderConfig],
) -> None:
    log = {"provider": provider.name, "provider_event_id": event.provider_event_id}
    log["transaction_id"] = transaction.transaction_id
    mismatch = _scope_mismatch(cashier, provider, event, transaction, signers)
    if mismatch is not None:
        count("WebhookOutOfScope", provider=provider.name)
        logger.warning("webhook from another scope", extra={**log, "outcome": mismatch})
    result = execute(
        cashier,
        transaction,
        _report(provider, event, mismatch),
        source=f"provider:{provider.name}",
        delivery=delivery.model_copy(update={"transaction_id": transaction.transaction_id}),
    )
    if result.duplicate:
        count("WebhookDuplicate", provider=provider.name)
        logger.info("duplicate webhook delivery acknowledged", extra=log)
    elif result.written:
        status = result.transaction.status.api_name
        logger.info("webhook applied", extra={**log, "status": status})
        count("WebhookApplied", provider=provider.name, status=status)
        if result.move.ledger is not None and result.move.ledger.kind is LedgerKind.REVERSAL:
            _report_negative_balance(cashier, result.transaction)
    if result.move.needs_person and not result.duplicate:
        count("PartialReversalRefused", provider=provider.name)
        logger.error(
            "money moved at the provider that needs a person",
            extra={**log, "outcome": result.move.note},
        )
    if not result.written and not result.duplicate:
        outcome = result.move.outcome
        if outcome is Outcome.RECORD:
            count("WebhookRecorded", provider=provider.name)
        elif outcome is Outcome.REFUSE:
            count("WebhookTransitionRefused", provider=provider.name)
        elif outcome is Outcome.IGNORE:
            count("WebhookIgnored", provider=provider.name)
        else:
            count("WebhookAlreadyApplied", provider=provider.name)
        logger.warning("webhook not applied", extra={**log, "outcome": result.move.note})
    if result.enqueue:
        # Also on a duplicate or a repeat: the first attempt's message may be lost.
        queue.enqueue(result.transaction)


def resolve_parked(cashier: Cashier, queue: CreditQueue, now: datetime) -> tuple[int, int]:
    """Look every open parked event up again (the janitor's step). One that finds
    its transaction is applied exactly as its webhook would have been (its
    delivery record makes it land once, whoever gets there first). One that
    still finds nothing after PARKED_RETRY_WINDOW is marked unresolved for a
    person: counted (WebhookUnresolved, alarmed) and listed in BackOffice.
    Returns (resolved, given up)."""
    resolved = given_up = 0
    for parked in cashier.parked.in_state(ParkedState.OPEN):
        provider = get_provider(parked.provider)
        events = _parked_events(provider, parked)
        event = next((e for e in events if e.provider_event_id == parked.provider_event_id), None)
        transaction = _find(cashier, provider, event) if provider and event else None
        if provider is not None and event is not None and transaction is not None:
            delivery = WebhookDelivery(
                delivery_id=WebhookDelivery.id_for(provider.name, event.provider_event_id),
                provider=provider.name,
                provider_event_id=event.provider_event_id,
                target=event.target,
                raw_status=event.raw_status,
                received_at=parked.received_at,
                body=parked.body,
                headers=parked.headers,
            )
            signers = [
                config
                for config in cashier.provider_configs_of(provider.name)
                if _signer_key(config) in parked.signed_by
            ]
            _settle(
                cashier, provider, event, delivery, queue, transaction=transaction, signers=signers
            )
            cashier.parked.resolved(parked)
            resolved += 1
            continue
        if now - parked.received_at >= PARKED_RETRY_WINDOW and cashier.parked.give_up(parked):
            given_up += 1
            count("WebhookUnresolved", provider=parked.provider)
            logger.error(
                "a verified provider event still names no transaction: a person looks",
                extra={"provider": parked.provider, "provider_event_id": parked.provider_event_id},
            )
    if resolved or given_up:
        logger.info("parked events", extra={"resolved": resolved, "given_up": given_up})
    return resolved, given_up


def _parked_events(provider: PaymentProvider | None, parked: ParkedEvent) -> list[WebhookEvent]:
    """The events of a parked body (verified when it came), or none when its
    module is gone or the stored body no longer parses."""
    if provider is None:
        return []
    try:
        return provider.parse_webhook(parked.body.encode("utf-8"))
    except WebhookMalformed:
        return []


def _scope_mismatch(
    cashier: Cashier,
    provider: PaymentProvider,
    event: WebhookEvent,
    transaction: Transaction,
    signers: list[ProviderConfig],
) -> str | None:
    """Why the event is not for the transaction's config, or None. The secret
    that verified it must be that config's (or, when the config is gone, one of
    the deposit's brand's), never another brand's; and the event's mode and
    merchant account must be the config's. Closed by default: a config with a
    mode takes no event that does not say its mode."""
    if transaction.provider != provider.name:
        return None  # lifecycle.decide ignores another provider's deposit itself
    own = [
        c
        for c in cashier.provider_configs(transaction.brand_id)
        if c.provider == transaction.provider and c.method_id == transaction.method_id
    ]
    key = (transaction.brand_id, transaction.method_id)
    if own and not any((s.brand_id, s.method_id) == key for s in signers):
        return "verified with another config's secret, not this deposit's"
    if not own:
        own = [s for s in signers if s.brand_id == transaction.brand_id]
        if not own:
            return "verified with another brand's secret, not this deposit's"
    return _no_world_fits(cashier, event, own)


def _unmatched_scope_mismatch(
    cashier: Cashier, event: WebhookEvent, signers: list[ProviderConfig]
) -> str | None:
    """For an event naming nothing of ours: out of scope when no config holding
    the verifying secret is in the event's world (then it is never retried)."""
    return _no_world_fits(cashier, event, signers)


def _no_world_fits(
    cashier: Cashier, event: WebhookEvent, configs: list[ProviderConfig]
) -> str | None:
    """Why none of `configs` is in the event's world (mode, merchant account),
    or None when one is."""
    scopes = [scope for scope in map(cashier.config_scope, configs) if scope is not None]
    mismatches = [_world_mismatch(event, scope) for scope in scopes]
    if not mismatches:
        return "no usable config holds the secret"
    if all(mismatches):
        return mismatches[0]
    return None


def _world_mismatch(event: WebhookEvent, scope: ConfigScope) -> str | None:
    if scope.live is not None:
        said = {True: "live", False: "test", None: "no mode"}
        if event.live is not scope.live:
            return f"a {said[event.live]} event for a {said[scope.live]} config"
    if scope.merchant_account is not None and event.merchant_account != scope.merchant_account:
        return f"merchant account {event.merchant_account!r} is not the config's"
    return None


def _report(
    provider: PaymentProvider, event: WebhookEvent, scope_mismatch: str | None = None
) -> ProviderReport:
    return ProviderReport(
        provider=provider.name,
        effect=event.effect,
        raw_status=event.raw_status,
        amount=event.amount,
        currency=event.currency,
        reports_amounts=provider.reports_amounts,
        new_reference=event.new_provider_reference,
        movement_reference=event.movement_reference,
        cumulative=event.cumulative,
        reinstates=event.reinstates,
        scope_mismatch=scope_mismatch,
        occurred_at=event.occurred_at,
    )


def _report_negative_balance(cashier: Cashier, reversed_: Transaction) -> None:
    account = cashier.accounts.get(reversed_.account_id)
    if account.balance < 0:
        count("NegativeBalance", currency=account.currency)
        logger.warning(
            "a reversal took the balance negative",
            extra={"account_id": account.account_id, "transaction_id": reversed_.transaction_id},
        )
