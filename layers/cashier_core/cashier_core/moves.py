"""What a decision is: a Move, and the few ways one is built.

lifecycle.decide (and the operator rules it delegates to) returns a Move;
transitions.execute carries it out. A Move that writes is never wider than the
transition table: `apply` refuses what the table (or OPERATOR_ONLY, for a
signal that is not a person's) does not allow from the current status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from cashier_core.errors import CashierError
from cashier_core.limits import recounts_counted, releases_counted
from cashier_core.models import LedgerKind, MoneyEffect, Transaction
from cashier_core.money import format_amount
from cashier_core.statuses import (
    PublicReason,
    Status,
    TransactionType,
    allowed_sources,
    automatic_sources,
)

S = Status
# What a status change may also set (storage.conditions.MUTABLE_FIELDS).
FieldValue = str | Decimal | dict[str, str] | None


class Outcome(StrEnum):
    APPLY = "apply"  # write the change (and its ledger movement, if any)
    ALREADY = "already"  # the state this signal asks for already holds: nothing to write
    REFUSE = (
        "refuse"  # the table forbids it from here: an operator gets 409, a provider's is recorded
    )
    IGNORE = "ignore"  # the signal is not about this kind of transaction: recorded, never applied
    SKIP = "skip"  # nothing to do (a job's signal that another writer overtook)
    RETRY = "retry"  # not yet decidable: nothing is stored, the sender retries
    RECORD = (
        "record"  # a provider's news that moves nothing (a dispute inquiry): kept for BackOffice
    )


@dataclass(frozen=True, slots=True)
class LedgerMovement:
    kind: LedgerKind
    amount: Decimal  # unsigned; the kind gives the sign
    # Chosen by the decision (from the provider's movement, or by counting the
    # movements the history shows); None: models.LedgerEntry.for_transaction's.
    entry_id: str | None = None


@dataclass(frozen=True, slots=True)
class MoneyRecord:
    """The money a change moved or recorded, kept in its history entry (positions.py)."""

    effect: MoneyEffect
    amount: Decimal  # unsigned
    reference: str | None = None
    returns: str | None = None  # REINSTATED: the movement whose money came back
    # A REVERSAL's part that was a withdrawal's return to source (no ledger entry).
    to_source: Decimal | None = None
    # A REVERSAL's (or RETURNED_TO_SOURCE's) part taken from what waited to be
    # re-credited (no ledger entry: the credit owes that much less).
    before_credit: Decimal | None = None
    # REINSTATED by a failed refund: when the provider says it failed; with a
    # running total (total), when the provider made it (epoch seconds).
    occurred_at: int | None = None
    # A refund failure reported before its refund: the failed amount (nothing moved).
    failed_first: Decimal | None = None
    # The provider's running total of refunds this change read (with occurred_at).
    total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RouteShare:
    """A deposit's share of a payout's route (Transaction.payout_returns), written
    on the deposit with the withdrawal's change, pinned to the deposit's version
    the route was checked at: one deposit's money is routed back only once."""

    deposit_id: str
    version: int
    payout_returns: Mapping[str, str]  # the deposit's whole map after this change


@dataclass(frozen=True, slots=True)
class Move:
    outcome: Outcome
    code: PublicReason | None = None  # what the customer sees (APPLY only)
    note: str = ""  # the internal reason: BackOffice, logs, delivery records
    target: Status | None = None
    ledger: LedgerMovement | None = None
    # The statuses this change may be written from; the executor also pins the version.
    sources: frozenset[Status] = frozenset()
    enqueue: bool = False  # hand the deposit to the credit worker afterwards
    # Nothing was applied but money moved at the provider: alarm a person.
    needs_person: bool = False
    set_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    money: MoneyRecord | None = None
    # Give the deposit's counted deposit-limit usage back, with the status change
    # and only once (cashier_core.limits.releases_counted).
    release_counted: bool = False
    # Count a released deposit's share again: it was credited after all.
    recount_counted: bool = False
    # A refusal with its own stable error code (errors.py), else invalid_transition.
    refusal: str | None = None
    # A withdrawal's approved (or failed) route, on the deposits it names.
    route_shares: tuple[RouteShare, ...] = ()

    @property
    def writes(self) -> bool:
        return self.outcome is Outcome.APPLY


def awaits_credit(transaction_type: TransactionType, status: Status) -> bool:
    """A confirmed deposit: the one thing the credit queue is ever for."""
    return transaction_type is TransactionType.DEPOSIT and status is S.PROVIDER_CONFIRMED


def apply(
    transaction: Transaction,
    target: Status,
    code: PublicReason,
    note: str,
    *,
    by_operator: bool = False,
    ledger: LedgerKind | None = None,
    set_fields: Mapping[str, FieldValue] | None = None,
    money: MoneyRecord | None = None,
    entry_id: str | None = None,
) -> Move:
    """A change from the current status, if the table allows it for this signal's
    kind of author (statuses.OPERATOR_ONLY: a person's only); otherwise a
    refusal. A move is never wider than the table. A ledger movement moves the
    recorded money's amount, or else the transaction's own."""
    source = transaction.status
    sources = allowed_sources if by_operator else automatic_sources
    if source not in sources(transaction.type, target):
        return refuse(transaction, target)
    return Move(
        Outcome.APPLY,
        code=code,
        note=note,
        target=target,
        ledger=LedgerMovement(ledger, money.amount if money else transaction.amount, entry_id)
        if ledger
        else None,
        sources=frozenset({source}),
        enqueue=awaits_credit(transaction.type, target),
        set_fields=set_fields or {},
        money=money,
        release_counted=releases_counted(transaction, target),
        recount_counted=recounts_counted(transaction, target),
    )


def refuse(transaction: Transaction, target: Status) -> Move:
    return Move(
        Outcome.REFUSE,
        note=f"{transaction.status.api_name} -> {target.api_name}",
        target=target,
    )


def already(transaction: Transaction, note: str = "already applied") -> Move:
    # A repeat finds a confirmed deposit: enqueue again, the first message may be lost.
    return Move(
        Outcome.ALREADY,
        note=note,
        target=transaction.status,
        enqueue=awaits_credit(transaction.type, transaction.status),
    )


def money_text(amount: Decimal, currency: str) -> str:
    try:
        return f"{format_amount(amount, currency)} {currency}"
    except (CashierError, ArithmeticError):  # shown as reported, never raised
        return f"{amount} {currency}"
