"""Crediting a provider-confirmed deposit, exactly once, and the sweeper.

The worker reads the deposit a message names (never the money a message
carries) and lifecycle.decide says what a credit attempt does; the executor
writes the one credit transaction (status, balance ADD and ledger entry).
Whatever arrives - a duplicate, a stale copy, a redelivery, two workers at
once - the version-pinned condition and the ledger entry's deterministic id let
exactly one credit land. Only deposits are ever credited.

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

from aws_lambda_powertools.metrics import MetricUnit

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import AccountClosed, AccountCurrencyMismatch, AccountNotFound
from cashier_core.lifecycle import CreditAttempt, CreditRefused, Outcome, SweepCheck, decide
from cashier_core.logs import logger
from cashier_core.statuses import Status, TransactionType
from cashier_core.telemetry import age_seconds, count
from cashier_core.transitions import execute

SOURCE: Final = "credit_worker"
# The sweeper leaves a confirmation this long to its own queue message first.
SWEEP_AFTER: Final = timedelta(minutes=5)


class CreditOutcome(StrEnum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"
    CREDIT_FAILED = "credit_failed"
    NOT_CREDITABLE = "not_creditable"


def credit(cashier: Cashier, transaction_id: str, now: datetime) -> CreditOutcome:
    """Credit the deposit a message names, as stored. TransactionNotFound for an
    id that names nothing (the caller fails the message: a person looks at it)."""
    log = {"transaction_id": transaction_id}
    transaction = cashier.transactions.get(transaction_id)
    try:
        result = execute(cashier, transaction, CreditAttempt(), source=SOURCE)
    except (AccountNotFound, AccountClosed, AccountCurrencyMismatch) as permanent:
        # The refused credit wrote nothing, so the copy read is still current, or
        # the executor finds that out from the write's version condition.
        refusal = CreditRefused(permanent.code, permanent.message)
        result = execute(cashier, transaction, refusal, source=SOURCE)
        if result.written:
            count("CreditFailed", reason=permanent.code)
            logger.warning("credit failed permanently", extra={**log, "reason": permanent.code})
            return CreditOutcome.CREDIT_FAILED
    if result.move.outcome is Outcome.ALREADY:
        count("CreditDuplicateIgnored")
        return CreditOutcome.DUPLICATE
    if not result.written:
        if result.move.outcome is Outcome.IGNORE:  # a message naming a withdrawal: forged or a bug
            logger.error("not creditable", extra={**log, "why": result.move.note})
        else:
            logger.info("not creditable", extra={**log, "why": result.move.note})
        return CreditOutcome.NOT_CREDITABLE
    credited = result.transaction
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


def sweep_confirmed(cashier: Cashier, queue: CreditQueue, now: datetime) -> int:
    """Re-enqueue confirmed deposits that have waited longer than SWEEP_AFTER, and
    publish the age of the oldest. Only what lifecycle.decide says still needs a
    credit is sent."""
    listed = list(
        cashier.pages.list_work(
            TransactionType.DEPOSIT, Status.PROVIDER_CONFIRMED, updated_before=now - SWEEP_AFTER
        )
    )
    oldest = min((t.updated_at for t in listed), default=None)  # shards merge unordered
    count("OldestConfirmedAgeSeconds", age_seconds(oldest, now), MetricUnit.Seconds)
    waiting = [t for t in listed if decide(t, SweepCheck()).enqueue]
    sent = queue.enqueue_many(waiting)
    if sent:
        count("SweptToCreditQueue", value=sent)
        logger.warning("re-enqueued confirmations left behind", extra={"count": sent})
    return sent
