"""Return to source: where a withdrawal should go, from where the money came.

Card schemes and regulators expect a payout to go back the way the money came
in first: to each card or wallet deposit up to what is left of it, the rest by
the withdrawal's own method. Which providers count as such a "source" is the
brand's policy (BrandSettings.return_to_source_providers).

Pure: the suggestion is a function of the account's transactions and its ledger
(no boto3, no clock). What a deposit brought is its credit entries; what was
reversed is its reversal entries (so a partial reversal counts as what it
took); what was already returned is the other approved withdrawals' shares
of their routes, kept on the deposit itself (Transaction.payout_returns).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from cashier_core.errors import PayoutRouteInvalid
from cashier_core.models import LedgerEntry, LedgerKind, Transaction
from cashier_core.money import quantize
from cashier_core.statuses import TransactionType

# The key of a route's remainder: paid by the withdrawal's own method.
BY_WITHDRAWAL_METHOD: Final = "withdrawal_method"
ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class SourceDeposit:
    """One credited deposit of the account, and what is left of it to return."""

    transaction_id: str
    method_id: str | None
    provider: str | None
    created_at: datetime
    deposited: Decimal
    reversed: Decimal
    returned: Decimal

    @property
    def net(self) -> Decimal:
        return max(self.deposited - self.reversed - self.returned, ZERO)


@dataclass(frozen=True, slots=True)
class SourceTotal:
    """The account's deposits by method and provider."""

    method_id: str | None
    provider: str | None
    deposited: Decimal
    reversed: Decimal
    returned: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class Refund:
    deposit_id: str
    method_id: str | None
    provider: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Suggestion:
    refunds: tuple[Refund, ...]
    by_withdrawal_method: Decimal  # the rest

    def as_route(self) -> dict[str, Decimal]:
        route = {refund.deposit_id: refund.amount for refund in self.refunds}
        if self.by_withdrawal_method > 0:
            route[BY_WITHDRAWAL_METHOD] = self.by_withdrawal_method
        return route


def source_deposits(
    withdrawal: Transaction,
    transactions: Iterable[Transaction],
    ledger: Iterable[LedgerEntry],
) -> list[SourceDeposit]:
    """The account's deposits that were credited, newest first, each with what
    it brought, what was reversed and what earlier payouts already returned."""
    credited: dict[str, Decimal] = defaultdict(Decimal)
    reversed_: dict[str, Decimal] = defaultdict(Decimal)
    for entry in ledger:
        if entry.transaction_id is None or entry.currency != withdrawal.currency:
            continue
        if entry.kind is LedgerKind.CREDIT:
            credited[entry.transaction_id] += entry.amount
        elif entry.kind is LedgerKind.REVERSAL:
            reversed_[entry.transaction_id] += -entry.amount
    mine = [
        t
        for t in transactions
        if t.account_id == withdrawal.account_id and t.currency == withdrawal.currency
    ]

    def returned(deposit: Transaction) -> Decimal:
        shares = deposit.payout_returns or {}
        return sum((_amount(v) for k, v in shares.items() if k != withdrawal.transaction_id), ZERO)

    deposits = [
        SourceDeposit(
            transaction_id=t.transaction_id,
            method_id=t.method_id,
            provider=t.provider,
            created_at=t.created_at,
            deposited=credited[t.transaction_id],
            reversed=reversed_[t.transaction_id],
            returned=returned(t),
        )
        for t in mine
        if t.type is TransactionType.DEPOSIT and credited[t.transaction_id] > 0
    ]
    return sorted(deposits, key=lambda d: (d.created_at, d.transaction_id), reverse=True)


def totals_by_method(deposits: Iterable[SourceDeposit]) -> list[SourceTotal]:
    sums: dict[tuple[str | None, str | None], list[Decimal]] = {}
    for deposit in deposits:
        key = (deposit.method_id, deposit.provider)
        total = sums.setdefault(key, [ZERO, ZERO, ZERO, ZERO])
        for index, value in enumerate(
            (deposit.deposited, deposit.reversed, deposit.returned, deposit.net)
        ):
            total[index] += value
    return [
        SourceTotal(method, provider, *values)
        for (method, provider), values in sorted(sums.items(), key=lambda kv: str(kv[0]))
    ]


def suggest(
    withdrawal: Transaction, deposits: Sequence[SourceDeposit], source_providers: frozenset[str]
) -> Suggestion:
    """Refund each source deposit, newest first, up to its net amount; the rest
    by the withdrawal's own method. Never more than the withdrawal."""
    remaining = withdrawal.amount
    refunds: list[Refund] = []
    for deposit in sorted(deposits, key=lambda d: (d.created_at, d.transaction_id), reverse=True):
        if remaining <= 0:
            break
        if deposit.provider not in source_providers:
            continue
        take = min(deposit.net, remaining)
        if take > 0:
            refunds.append(
                Refund(deposit.transaction_id, deposit.method_id, deposit.provider, take)
            )
            remaining -= take
    return Suggestion(tuple(refunds), remaining)


def check_route(
    withdrawal: Transaction,
    route: Mapping[str, str],
    deposits: Sequence[SourceDeposit],
    source_providers: frozenset[str],
) -> dict[str, str]:
    """An operator's chosen route, checked: each part a positive amount of the
    withdrawal's currency, sent to a source deposit of this account up to its
    net, or by the withdrawal's own method; together exactly the withdrawal.
    Returns it normalised (amounts as plain decimal strings)."""
    by_id = {d.transaction_id: d for d in deposits}
    total = ZERO
    normalised: dict[str, str] = {}
    for key, text in route.items():
        amount = _amount(text)
        if not amount.is_finite() or amount <= 0 or amount > withdrawal.amount:
            raise PayoutRouteInvalid(f"The route's amount for {key} is not a valid amount.")
        if amount != quantize(amount, withdrawal.currency):
            raise PayoutRouteInvalid(f"The route's amount for {key} is not a valid amount.")
        if key != BY_WITHDRAWAL_METHOD:
            deposit = by_id.get(key)
            if deposit is None or deposit.provider not in source_providers:
                raise PayoutRouteInvalid(f"{key} is not a source deposit of this account.")
            if amount > deposit.net:
                raise PayoutRouteInvalid(f"The route returns more to {key} than is left of it.")
        total += amount
        normalised[key] = f"{amount:f}"
    if total != withdrawal.amount:
        raise PayoutRouteInvalid("The route's amounts must add up to the withdrawal's amount.")
    return normalised


def _amount(text: str | Decimal) -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return Decimal("NaN")
