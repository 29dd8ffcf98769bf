"""Crediting a provider-confirmed deposit, exactly once, and the sweeper.

The worker runs the one credit transaction (status, balance ADD and ledger
entry). Whatever arrives - a duplicate, a stale copy, a redelivery, two
workers at once - the version-pinned status condition and the ledger entry's
deterministic id let exactly one credit land.

Failures:
- permanent (the account is gone, closed, or in another currency): the deposit
  moves to credit_failed with the reason, for BackOffice;
- transient (throttling, TransactionConflict): the message fails alone and SQS
  redelivers it; after maxReceiveCount it lands in the DLQ and the alarm fires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import (
    AccountClosed,
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    RetryableConflict,
    TransitionRefused,
)
from cashier_core.models import Transaction
from cashier_core.statuses import Status
from cashier_core.telemetry import age_seconds, count

logger = Logger()

SOURCE: Final = "credit_worker"
STALE_RETRIES: Final = 3
# The sweeper leaves a confirmation this long to its own queue message first.
SWEEP_AFTER: Final = timedelta(minutes=5)


class CreditOutcome(StrEnum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"
    CREDIT_FAILED = "credit_failed"
    NOT_CREDITABLE = "not_creditable"


def credit(cashier: Cashier, transaction: Transaction, now: datetime) -> CreditOutcome:
    log = {"transaction_id": transaction.transaction_id}
    for _ in range(STALE_RETRIES):
        if transaction.status is Status.CREDITED:
            count("CreditDuplicateIgnored")
            return CreditOutcome.DUPLICATE
        if transaction.status is not Status.PROVIDER_CONFIRMED:
            logger.info("not creditable", extra={**log, "status": transaction.status.api_name})
            return CreditOutcome.NOT_CREDITABLE
        try:
            credited = cashier.transactions.credit(transaction, source=SOURCE)
        except AlreadyApplied:
            count("CreditDuplicateIgnored")
            return CreditOutcome.DUPLICATE
        except TransitionRefused as refused:
            transaction = refused.current
            continue
        except (AccountNotFound, AccountClosed, AccountCurrencyMismatch) as permanent:
            try:
                cashier.transactions.apply_change(
                    transaction,
                    Status.CREDIT_FAILED,
                    reason=f"{permanent.code}: {permanent.message}",
                    source=SOURCE,
                )
            except TransitionRefused as refused:
                transaction = refused.current
                continue
            count("CreditFailed", reason=permanent.code)
            logger.warning("credit failed permanently", extra={**log, "reason": permanent.code})
            return CreditOutcome.CREDIT_FAILED
        count("Credited", currency=credited.currency)
        confirmed_at = next(
            (c.at for c in reversed(credited.history) if c.status is Status.PROVIDER_CONFIRMED),
            None,
        )
        if confirmed_at is not None:
            count(
                "ConfirmedToCreditedSeconds",
                value=max((now - confirmed_at).total_seconds(), 0.0),
                unit=MetricUnit.Seconds,
            )
        logger.info("credited", extra=log)
        return CreditOutcome.CREDITED
    raise RetryableConflict("The transaction kept changing while it was being credited.")


def sweep_confirmed(cashier: Cashier, queue: CreditQueue, now: datetime) -> int:
    """Re-enqueue confirmations that have waited longer than SWEEP_AFTER."""
    waiting = list(
        cashier.transactions.list_in_work_status(
            Status.PROVIDER_CONFIRMED, updated_before=now - SWEEP_AFTER
        )
    )
    oldest = waiting[0].updated_at if waiting else None  # the index lists oldest first
    count("OldestConfirmedAgeSeconds", age_seconds(oldest, now), MetricUnit.Seconds)
    sent = queue.enqueue_many(waiting)
    if sent:
        count("SweptToCreditQueue", value=sent)
        logger.warning("re-enqueued confirmations left behind", extra={"count": sent})
    return sent
