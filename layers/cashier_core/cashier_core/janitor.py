"""The payment janitor: deposits waiting on a provider do not wait forever.

Every run (the template's schedule, JANITOR_INTERVAL_MINUTES apart):
- created for longer than CREATED_ABANDONED_AFTER: the provider's answer never
  came back (a crash or a timeout). Where the module can be asked, its answer
  is a ProviderReport like a webhook's; otherwise the deposit fails. A late
  success still lands, in manual_review (lifecycle.decide).
- pending_payment: the module is asked on a backoff, as Kill Bill's janitor
  does - when the payment is 5 minutes old, 1 hour, 1 day, then once a day -
  and its answer applied. Past the module's own payment_expiry a payment the
  provider cannot confirm is cancelled.
The steps are derived from the payment's age, so the janitor keeps no state; a
run that is skipped skips one question, never the expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.lifecycle import (
    JanitorFinding,
    JanitorGaveUp,
    ProviderEffect,
    ProviderReport,
    Signal,
)
from cashier_core.logs import logger
from cashier_core.models import Transaction
from cashier_core.providers import get_provider
from cashier_core.settings import settings
from cashier_core.statuses import Status, TransactionType
from cashier_core.telemetry import count
from cashier_core.transitions import execute
from cashier_core.webhooks import resolve_parked

SOURCE: Final = "janitor"
BACKOFF_STEPS: Final = (timedelta(minutes=5), timedelta(hours=1), timedelta(days=1))
CREATED_ABANDONED_AFTER: Final = timedelta(minutes=15)


def interval_from_environment() -> timedelta:
    return settings().require_janitor_interval()


def is_check_due(age: timedelta, interval: timedelta) -> bool:
    """Whether a backoff step (5 min, 1 h, 1 day, then daily) fell in the last interval."""
    for step in BACKOFF_STEPS:
        if step <= age < step + interval:
            return True
    last = BACKOFF_STEPS[-1]
    return age >= last and (age - last) % timedelta(days=1) < interval


@dataclass
class JanitorReport:
    asked: int = 0
    changed: dict[str, int] = field(default_factory=dict)
    parked_resolved: int = 0
    parked_given_up: int = 0

    def note(self, status: Status) -> None:
        self.changed[status.api_name] = self.changed.get(status.api_name, 0) + 1


def run_janitor(
    cashier: Cashier, queue: CreditQueue, now: datetime, interval: timedelta
) -> JanitorReport:
    report = JanitorReport()
    # Parked provider events first: one may be what a waiting deposit needs.
    report.parked_resolved, report.parked_given_up = resolve_parked(cashier, queue, now)
    for transaction in cashier.pages.list_work(
        TransactionType.DEPOSIT, Status.CREATED, updated_before=now - CREATED_ABANDONED_AFTER
    ):
        answer = _ask(cashier, transaction, report)
        signal: Signal = answer or JanitorGaveUp(JanitorFinding.ABANDONED)
        _carry_out(cashier, queue, transaction, signal, report=report)

    for transaction in cashier.pages.list_work(
        TransactionType.DEPOSIT, Status.PENDING_PAYMENT, updated_before=now - BACKOFF_STEPS[0]
    ):
        provider = get_provider(transaction.provider or "")
        if provider is None:
            continue  # module no longer loaded: left for BackOffice, never guessed
        age = now - transaction.updated_at
        expired = age >= provider.payment_expiry
        answer = (
            _ask(cashier, transaction, report) if expired or is_check_due(age, interval) else None
        )
        if answer is not None:
            _carry_out(cashier, queue, transaction, answer, report=report)
        elif expired:
            finding = JanitorGaveUp(
                JanitorFinding.EXPIRED, f"the provider's {provider.payment_expiry}"
            )
            _carry_out(cashier, queue, transaction, finding, report=report)
    logger.info("janitor run", extra={"asked": report.asked, "changed": report.changed})
    return report


def _ask(
    cashier: Cashier, transaction: Transaction, report: JanitorReport
) -> ProviderReport | None:
    """The provider's answer, as the same kind of report a webhook gives."""
    provider = get_provider(transaction.provider or "")
    config = next(
        (
            c
            for c in cashier.provider_configs(transaction.brand_id)
            if c.method_id == transaction.method_id
        ),
        None,
    )
    if provider is None or config is None:
        return None
    report.asked += 1
    try:
        answer = provider.query_status(transaction, config, cashier.credentials(config))
    except Exception:
        logger.exception(
            "provider status query failed", extra={"transaction_id": transaction.transaction_id}
        )
        return None
    if answer is None:
        return None
    effect = ProviderEffect.of_status(answer.status)
    if effect is None:
        return None  # created, pending, credited: nothing a provider's answer may say
    return ProviderReport(
        provider=provider.name,
        effect=effect,
        raw_status=f"status query: {answer.status.api_name}",
        amount=answer.amount,
        currency=answer.currency,
        reports_amounts=provider.reports_amounts,
        new_reference=answer.provider_reference,
    )


def _carry_out(
    cashier: Cashier,
    queue: CreditQueue,
    transaction: Transaction,
    signal: Signal,
    *,
    report: JanitorReport,
) -> None:
    result = execute(cashier, transaction, signal, source=SOURCE)
    if result.written:
        report.note(result.transaction.status)
        count("JanitorMoved", status=result.transaction.status.api_name)
    if result.enqueue:
        queue.enqueue(result.transaction)
