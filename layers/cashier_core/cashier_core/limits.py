"""Deposit limits: per customer and currency, per calendar period. Pure.

Where a limit comes from, per currency and per period (daily, weekly, monthly):
- the brand's `deposit_limits`;
- the customer's CRM `deposit_limits`: a period given there replaces the
  brand's period as a whole (higher or lower);
- the customer's `self_limits`: only ever lower, so each of its amount and
  count applies only where it is stricter than what the two above give.
The strictest wins: each of amount and count is the smallest that applies.

Periods are calendar periods in UTC: the day (00:00:00 to 23:59:59.999999),
the ISO week (Monday 00:00 to Sunday 23:59:59.999999; the week of 31 Dec
2026 is 2026-W53, and 1 Jan 2027 still belongs to it), and the month.

What counts: a deposit from the moment it is created (so a burst cannot
overshoot while providers think), in every period it was created in; the
periods are stored on the deposit (`counted_in`). When it ends failed or
cancelled its amount and count go back to those same periods, exactly once
(`releases_counted`); a refund or a chargeback gives nothing back, the money
came in. Counting is per customer and currency across all their accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from cashier_core.models import CustomerRecord, DepositLimits, PeriodLimit, Transaction
from cashier_core.statuses import Status, TransactionType


class Period(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


PERIODS: tuple[Period, ...] = (Period.DAILY, Period.WEEKLY, Period.MONTHLY)
# The statuses whose entry gives a counted deposit's share back.
RELEASING_STATUSES = frozenset({Status.FAILED, Status.CANCELLED})


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    period: Period
    key: str  # "2026-12-07", "2026-W49", "2026-12"
    starts_at: datetime
    resets_at: datetime  # the first instant of the next period

    @property
    def counter_key(self) -> str:
        """How a deposit names the period it was counted in: "daily#2026-12-07"."""
        return f"{self.period.value}#{self.key}"


def window(period: Period, moment: datetime) -> PeriodWindow:
    """The calendar period in UTC that `moment` falls in."""
    if moment.tzinfo is None:
        raise ValueError("a moment must be timezone-aware")
    at = moment.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAILY:
        return PeriodWindow(period, f"{day:%Y-%m-%d}", day, day + timedelta(days=1))
    if period is Period.WEEKLY:
        iso = at.isocalendar()
        start = day - timedelta(days=iso.weekday - 1)
        key = f"{iso.year}-W{iso.week:02d}"
        return PeriodWindow(period, key, start, start + timedelta(days=7))
    start = day.replace(day=1)
    following = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return PeriodWindow(period, f"{start:%Y-%m}", start, following)


def windows(moment: datetime) -> tuple[PeriodWindow, ...]:
    return tuple(window(period, moment) for period in PERIODS)


@dataclass(frozen=True, slots=True)
class Usage:
    """What is counted in one period: the sum and the number of deposits."""

    amount: Decimal = Decimal(0)
    count: int = 0

    def plus(self, amount: Decimal) -> Usage:
        return Usage(self.amount + amount, self.count + 1)

    def minus(self, amount: Decimal) -> Usage:
        return Usage(self.amount - amount, self.count - 1)


@dataclass(frozen=True, slots=True)
class Cap:
    """The limit that applies in one period; either side may be open."""

    amount: Decimal | None = None
    count: int | None = None


def _stricter(first: int | Decimal | None, second: int | Decimal | None) -> int | Decimal | None:
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)


def _period_limit(limits: DepositLimits | None, period: Period) -> PeriodLimit | None:
    if limits is None:
        return None
    limit: PeriodLimit | None = getattr(limits, period.value)
    return limit


def effective_caps(
    brand_limits: Mapping[str, DepositLimits], customer: CustomerRecord, currency: str
) -> dict[Period, Cap]:
    """The cap of each period that has one, for this customer and currency."""
    brand = brand_limits.get(currency)
    crm = customer.crm_overrides.deposit_limits.get(currency)
    own = customer.self_limits.get(currency)
    caps: dict[Period, Cap] = {}
    for period in PERIODS:
        base = _period_limit(crm, period) or _period_limit(brand, period)
        lowered = _period_limit(own, period)
        amount = _stricter(base.amount if base else None, lowered.amount if lowered else None)
        number = _stricter(base.count if base else None, lowered.count if lowered else None)
        if amount is not None or number is not None:
            caps[period] = Cap(
                Decimal(amount) if amount is not None else None,
                int(number) if number is not None else None,
            )
    return caps


@dataclass(frozen=True, slots=True)
class Allowance:
    """One period's limit, what is used of it and what remains."""

    window: PeriodWindow
    cap: Cap
    used: Usage

    @property
    def amount_remaining(self) -> Decimal | None:
        if self.cap.amount is None:
            return None
        return max(self.cap.amount - self.used.amount, Decimal(0))

    @property
    def count_remaining(self) -> int | None:
        if self.cap.count is None:
            return None
        return max(self.cap.count - self.used.count, 0)

    @property
    def exhausted(self) -> bool:
        """Nothing more may be deposited in this period."""
        return self.amount_remaining == 0 or self.count_remaining == 0

    def admits(self, amount: Decimal) -> bool:
        remaining, number = self.amount_remaining, self.count_remaining
        return (remaining is None or amount <= remaining) and (number is None or number >= 1)


def allowances(
    caps: Mapping[Period, Cap], usage: Mapping[str, Usage], moment: datetime
) -> list[Allowance]:
    """Each limited period now, with its usage (`usage` by counter key)."""
    found = []
    for current in windows(moment):
        cap = caps.get(current.period)
        if cap is not None:
            found.append(Allowance(current, cap, usage.get(current.counter_key, Usage())))
    return found


def first_refusal(limited: Iterable[Allowance], amount: Decimal) -> Allowance | None:
    """The first period (daily, weekly, monthly) this deposit would exceed, or None."""
    return next((allowance for allowance in limited if not allowance.admits(amount)), None)


def amount_remaining(limited: Iterable[Allowance]) -> Decimal | None:
    """The most one more deposit may be, over every limited period (None: no cap)."""
    amounts = [a.amount_remaining for a in limited if a.amount_remaining is not None]
    return min(amounts) if amounts else None


def nothing_remains(limited: Iterable[Allowance]) -> bool:
    return any(allowance.exhausted for allowance in limited)


def releases_counted(transaction: Transaction, target: Status) -> bool:
    """Whether moving `transaction` to `target` gives its counted share back: a
    counted deposit not yet released, ending failed or cancelled."""
    return (
        transaction.type is TransactionType.DEPOSIT
        and target in RELEASING_STATUSES
        and bool(transaction.counted_in)
        and not transaction.counted_released
    )


def recounts_counted(transaction: Transaction, target: Status) -> bool:
    """Whether moving `transaction` to `target` counts its share again: a deposit
    released when it failed or was cancelled, then credited after all (a late
    success a person credited, a wire paid after its deposit expired). The money
    came in, so it counts, whatever the limit now says."""
    return (
        transaction.type is TransactionType.DEPOSIT
        and transaction.status is Status.PROVIDER_CONFIRMED
        and target is Status.CREDITED
        and bool(transaction.counted_in)
        and transaction.counted_released
    )


def counted_usage(transactions: Iterable[Transaction]) -> dict[str, Usage]:
    """What the counters should hold, recomputed from the deposits themselves:
    per counter key, every counted deposit not released."""
    usage: dict[str, Usage] = {}
    for transaction in transactions:
        if transaction.type is not TransactionType.DEPOSIT or transaction.counted_released:
            continue
        for key in transaction.counted_in:
            usage[key] = usage.get(key, Usage()).plus(transaction.amount)
    return usage
