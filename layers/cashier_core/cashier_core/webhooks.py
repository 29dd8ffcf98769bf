"""ProcessCashierWebhook: verify, store once, apply through the transition table.

1. The provider module verifies the raw body against every webhook secret any
   brand has for this provider (a webhook URL names no brand). Nothing is
   parsed or written before that.
2. Each event is applied with its delivery record in one TransactWriteItems:
   the record's attribute_not_exists de-duplicates on (provider, event id), so
   a duplicate changes nothing, and a crash never records a delivery without
   its effect.
3. A confirmation whose amount or currency differs from ours, or that arrives
   after failed/cancelled, goes to manual_review, never to the credit path.
4. A refund or chargeback of a credited deposit reverses the credit with its
   ledger entry. The balance may go negative (the money has left through the
   provider): that is logged and counted as NegativeBalance.
5. A refused transition is recorded and acknowledged; the provider must not
   retry what the table will always refuse.
6. provider_confirmed is enqueued for the credit worker. If that fails the
   answer is 503 so the provider retries; the retry finds the delivery stored,
   sees provider_confirmed, and enqueues again (the credit is idempotent). The
   sweeper re-enqueues anything left behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import (
    AlreadyApplied,
    DuplicateDelivery,
    ProviderNotFound,
    TransactionNotFound,
    TransitionRefused,
    WebhookRejected,
)
from cashier_core.logs import logger
from cashier_core.models import Transaction, WebhookDelivery
from cashier_core.money import format_amount
from cashier_core.providers import PaymentProvider, WebhookAnswer, WebhookEvent, get_provider
from cashier_core.statuses import Status, automatic_sources
from cashier_core.telemetry import count

# Never stored with a delivery: they authenticate callers, they do not describe events.
SECRET_HEADERS: Final = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
MAX_STORED_BODY: Final = 256 * 1024
STALE_READ_RETRIES: Final = 3


def webhook_secrets(cashier: Cashier, provider_name: str) -> list[str]:
    secrets: list[str] = []
    for config in cashier.provider_configs_of(provider_name):
        for secret in cashier.credentials(config).webhook_secrets:
            if secret not in secrets:
                secrets.append(secret)
    return secrets


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
    try:
        provider.verify_webhook(body, headers, webhook_secrets(cashier, provider_name), now)
    except WebhookRejected:
        count("WebhookRejected", provider=provider_name)
        raise
    kept_headers = {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    stored_body = body[:MAX_STORED_BODY].decode("utf-8", errors="replace")
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
        _apply(cashier, provider, event, delivery, queue)
    return provider.answer()


def _find(cashier: Cashier, provider: PaymentProvider, event: WebhookEvent) -> Transaction | None:
    transaction: Transaction | None = None
    if event.transaction_id:
        try:
            transaction = cashier.transactions.get(event.transaction_id)
        except TransactionNotFound:
            transaction = None
    if transaction is None and event.provider_reference:
        transaction = cashier.transactions.find_by_provider_reference(
            provider.name, event.provider_reference
        )
    # A provider's event may only move that provider's own deposits.
    if transaction is None or transaction.provider != provider.name:
        return None
    return transaction


def _decide(transaction: Transaction, event: WebhookEvent) -> tuple[Status, str]:
    target = event.target
    reason = f"provider reported {event.raw_status}"
    if target is not Status.PROVIDER_CONFIRMED:
        return target, reason
    if event.amount is not None and (
        event.amount != transaction.amount or event.currency != transaction.currency
    ):
        reported = f"{event.amount} {event.currency}"
        expected = (
            f"{format_amount(transaction.amount, transaction.currency)} {transaction.currency}"
        )
        return (
            Status.MANUAL_REVIEW,
            f"amount mismatch: provider reported {reported}, expected {expected}",
        )
    if transaction.status in (Status.FAILED, Status.CANCELLED):
        return (
            Status.MANUAL_REVIEW,
            f"provider reported success after {transaction.status.api_name}",
        )
    return target, reason


def _apply(
    cashier: Cashier,
    provider: PaymentProvider,
    event: WebhookEvent,
    delivery: WebhookDelivery,
    queue: CreditQueue,
) -> None:
    transaction = _find(cashier, provider, event)
    log = {"provider": provider.name, "provider_event_id": event.provider_event_id}
    if transaction is None:
        stored = cashier.transactions.record_delivery(
            delivery.model_copy(update={"outcome": "unknown_transaction"})
        )
        count("WebhookUnknownTransaction" if stored else "WebhookDuplicate", provider=provider.name)
        logger.warning("webhook for no transaction of ours", extra=log)
        return
    log["transaction_id"] = transaction.transaction_id
    delivery = delivery.model_copy(update={"transaction_id": transaction.transaction_id})

    for _ in range(STALE_READ_RETRIES):
        target, reason = _decide(transaction, event)
        try:
            if (
                target in (Status.REFUNDED, Status.CHARGEBACK)
                and transaction.status is Status.CREDITED
            ):
                changed = cashier.transactions.reverse_credit(
                    transaction,
                    target,
                    reason=reason,
                    source=f"provider:{provider.name}",
                    delivery=delivery,
                )
                _report_negative_balance(cashier, changed)
            else:
                changed = cashier.transactions.apply_change(
                    transaction,
                    target,
                    reason=reason,
                    source=f"provider:{provider.name}",
                    only_from=automatic_sources(transaction.type, target),
                    delivery=delivery,
                    set_fields={"provider_reference": event.new_provider_reference},
                )
        except DuplicateDelivery:
            count("WebhookDuplicate", provider=provider.name)
            logger.info("duplicate webhook delivery acknowledged", extra=log)
            if transaction.status is Status.PROVIDER_CONFIRMED:
                queue.enqueue(transaction)  # the first attempt may have failed to
            return
        except TransitionRefused as refused:
            if refused.current.version != transaction.version:
                transaction = refused.current  # we read a stale copy: decide again
                continue
            _refused(
                cashier, delivery, refused.current, target, log=log, provider_name=provider.name
            )
            return
        except AlreadyApplied:
            _refused(cashier, delivery, transaction, target, log=log, provider_name=provider.name)
            return
        logger.info("webhook applied", extra={**log, "status": changed.status.api_name})
        count("WebhookApplied", provider=provider.name, status=changed.status.api_name)
        if changed.status is Status.PROVIDER_CONFIRMED:
            queue.enqueue(changed)
        return
    raise TransitionRefused(transaction, "The transaction kept changing; retry the delivery.")


def _refused(
    cashier: Cashier,
    delivery: WebhookDelivery,
    current: Transaction,
    target: Status,
    *,
    log: dict[str, str],
    provider_name: str,
) -> None:
    outcome = f"refused: {current.status.api_name} -> {target.api_name}"
    stored = cashier.transactions.record_delivery(delivery.model_copy(update={"outcome": outcome}))
    count("WebhookTransitionRefused" if stored else "WebhookDuplicate", provider=provider_name)
    logger.warning("webhook transition refused", extra={**log, "outcome": outcome})


def _report_negative_balance(cashier: Cashier, reversed_: Transaction) -> None:
    account = cashier.accounts.get(reversed_.account_id)
    if account.balance < 0:
        count("NegativeBalance", currency=account.currency)
        logger.warning(
            "a reversal took the balance negative",
            extra={"account_id": account.account_id, "transaction_id": reversed_.transaction_id},
        )
