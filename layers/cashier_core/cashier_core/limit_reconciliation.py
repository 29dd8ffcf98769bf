"""BackOffice: a customer's deposit-limit counters against their deposits.

Like an account's reconciliation, the counters are recomputed from the
transactions themselves (every deposit counted in a period and not released,
limits.counted_usage) and any difference is reported, counted and logged,
never rewritten: a difference is a bug to find, not a number to paper over.
The deposits are read before and after the counters and must agree, so a
deposit created or ended mid-read is not a difference.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict

from cashier_core.cashier import Cashier
from cashier_core.errors import RetryableConflict
from cashier_core.limits import Usage, counted_usage, windows
from cashier_core.logs import logger
from cashier_core.models import AuditRecord, Transaction
from cashier_core.money import format_amount
from cashier_core.telemetry import count

STALE_READ_RETRIES = 3


@dataclass(frozen=True, slots=True)
class CounterCheck:
    currency: str
    counter_key: str  # "daily#2026-12-07"
    counter: Usage  # what the counter item holds
    recomputed: Usage  # what the deposits say it should hold

    @property
    def agrees(self) -> bool:
        return self.counter == self.recomputed


def _state(deposits: list[Transaction]) -> set[tuple[str, int]]:
    return {(d.transaction_id, d.version) for d in deposits}


def reconcile_deposit_limits(
    cashier: Cashier, principal: str, customer_id: str
) -> list[CounterCheck]:
    """Every counter the customer's deposits were counted in, plus the current
    periods of each currency they deposit in, with what it holds and should hold."""
    cashier.customers.get(customer_id)  # 404 customer_not_found
    for _ in range(STALE_READ_RETRIES):
        before = cashier.deposit_limits.deposits_of(customer_id)
        by_currency: dict[str, list[Transaction]] = {}
        for deposit in before:
            by_currency.setdefault(deposit.currency, []).append(deposit)
        now = [w.counter_key for w in windows(cashier.clock())]
        checks: list[CounterCheck] = []
        for currency, deposits in sorted(by_currency.items()):
            recomputed = counted_usage(deposits)
            keys = sorted({*recomputed, *now, *(k for d in deposits for k in d.counted_in)})
            held = cashier.deposit_limits.usage(customer_id, currency, keys)
            checks.extend(
                CounterCheck(currency, key, held.get(key, Usage()), recomputed.get(key, Usage()))
                for key in keys
            )
        if _state(cashier.deposit_limits.deposits_of(customer_id)) == _state(before):
            break
    else:
        raise RetryableConflict("The customer's deposits kept changing; retry.")
    differing = [check for check in checks if not check.agrees]
    at = cashier.clock()
    cashier.audit.append(
        AuditRecord(
            subject_id=customer_id,
            audit_id=f"reconcile_limits#{at.isoformat()}#{uuid.uuid4().hex[:8]}",
            action="reconcile_deposit_limits",
            principal=principal,
            reason="deposit-limit reconciliation",
            at=at,
            details={"counters": str(len(checks)), "differences": str(len(differing))},
        )
    )
    for check in differing:
        count("DepositLimitCounterDifference", currency=check.currency)
        logger.error(
            "deposit-limit counter differs from the deposits",
            extra={
                "customer_id": customer_id,
                "currency": check.currency,
                "counter_key": check.counter_key,
                "counter_amount": str(check.counter.amount),
                "recomputed_amount": str(check.recomputed.amount),
            },
        )
    return checks


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class CounterCheckReply(_Reply):
    currency: str
    period: str  # daily, weekly, monthly
    period_key: str  # 2026-12-07, 2026-W49, 2026-12
    counter_amount: str
    counter_count: int
    recomputed_amount: str
    recomputed_count: int
    amount_difference: str  # counter minus recomputed
    count_difference: int
    agrees: bool

    @classmethod
    def of(cls, check: CounterCheck) -> Self:
        period, _, key = check.counter_key.partition("#")
        currency = check.currency

        def money(amount: Decimal) -> str:
            return format_amount(amount, currency)

        return cls(
            currency=currency,
            period=period,
            period_key=key,
            counter_amount=money(check.counter.amount),
            counter_count=check.counter.count,
            recomputed_amount=money(check.recomputed.amount),
            recomputed_count=check.recomputed.count,
            amount_difference=money(check.counter.amount - check.recomputed.amount),
            count_difference=check.counter.count - check.recomputed.count,
            agrees=check.agrees,
        )


class DepositLimitReconciliationReply(_Reply):
    customer_id: str
    counters: list[CounterCheckReply]
    differences: int
    balanced: bool

    @classmethod
    def of(cls, customer_id: str, checks: list[CounterCheck]) -> Self:
        differing = sum(1 for check in checks if not check.agrees)
        return cls(
            customer_id=customer_id,
            counters=[CounterCheckReply.of(check) for check in checks],
            differences=differing,
            balanced=differing == 0,
        )
