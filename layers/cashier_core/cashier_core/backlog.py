"""What waits for a person, as metrics: the alarms and the dashboard read them.

Run on the credit sweeper's schedule. Both lists come from the sparse
work-queue index, so a run reads only what waits; published every run (0 when
nothing waits) so an alarm never sits in INSUFFICIENT_DATA.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from cashier_core.cashier import Cashier
from cashier_core.statuses import Status, TransactionType
from cashier_core.telemetry import age_seconds, count


def publish_backlog(cashier: Cashier, now: datetime) -> dict[str, int]:
    credit_failed = sum(
        1
        for _ in cashier.pages.list_work(
            TransactionType.DEPOSIT, Status.CREDIT_FAILED, updated_before=now
        )
    )
    withdrawals = list(
        cashier.pages.list_work(
            TransactionType.WITHDRAWAL, Status.MANUAL_REVIEW, updated_before=now
        )
    )
    oldest = min((w.updated_at for w in withdrawals), default=None)  # shards merge unordered
    count("CreditFailedWaiting", credit_failed)
    count("WithdrawalsWaiting", len(withdrawals))
    count("OldestWithdrawalAgeSeconds", age_seconds(oldest, now), MetricUnit.Seconds)
    return {"credit_failed_waiting": credit_failed, "withdrawals_waiting": len(withdrawals)}
