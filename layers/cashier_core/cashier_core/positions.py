"""Where a deposit's money stands: credited, reversed, reinstated, and what is owed.

Read from the deposit's own history (each change records the money it moved,
models.MoneyEffect), so it is written in the same conditional write as the
ledger entry it describes and can never drift from it. Pure.

- on_account: what this deposit has put on the account and not taken back
  (the sum of its ledger entries);
- owed: what the customer should hold from it: the amount, less what the
  provider gave back or had taken by a dispute, plus what came back to us;
- to_credit: what a credit moves now (owed - on_account);
- routed: what approved withdrawals route back to this deposit (return to
  source, Transaction.payout_returns); their holds already took it from the
  account, so a refund the provider reports of it (returned_to_source) moves no
  money, and a reversal can take only what is left beside it (reversible).

Changes written before amounts were recorded are read as the whole deposit:
a change into credited credited the amount, a refund or chargeback out of
credited reversed what was on the account, and one before the credit took
back what was owed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from cashier_core.models import MoneyEffect, StatusChange, Transaction
from cashier_core.statuses import PublicReason, Status

ZERO: Final = Decimal(0)
# The codes under which a refund (not a dispute) is recorded.
REFUND_CODES: Final = frozenset({PublicReason.REFUNDED, PublicReason.PARTIALLY_REFUNDED})
CHARGEBACK_CODES: Final = frozenset({PublicReason.CHARGEBACK, PublicReason.PARTIAL_CHARGEBACK})
_TAKEN: Final = (MoneyEffect.REVERSAL, MoneyEffect.REVERSED_BEFORE_CREDIT)


@dataclass(frozen=True, slots=True)
class DepositMoney:
    amount: Decimal
    credited: Decimal = ZERO
    reversed: Decimal = ZERO  # taken back from the account (ledger reversals)
    reversed_before_credit: Decimal = ZERO
    reinstated: Decimal = ZERO
    refunded: Decimal = ZERO  # refunds the provider reported, before or after the credit
    refunds_failed: Decimal = ZERO  # of those, what came back (a refund that failed)
    refund_failures: int = 0  # how many refund failures were recorded
    # Each refund failure: what came back, and when the provider says it failed.
    failed_refunds: tuple[tuple[Decimal, int | None], ...] = ()
    # Each running total of refunds the provider reported, and when it made it.
    totals: tuple[tuple[Decimal, int], ...] = ()
    credits: int = 0  # credit movements so far (the next credit's ledger id counts them)
    reversals: int = 0  # reversal movements so far (a reversal the provider names no id for)
    references: frozenset[str] = frozenset()  # provider movements already recorded
    # What each named movement took back, and what has come back of it.
    taken_by: Mapping[str, Decimal] = field(default_factory=dict)
    returned_of: Mapping[str, Decimal] = field(default_factory=dict)
    routed: Decimal = ZERO
    returned_to_source: Decimal = ZERO  # by refunds and by chargebacks
    charged_back_to_source: Decimal = ZERO  # of that, by chargebacks

    @property
    def on_account(self) -> Decimal:
        return self.credited - self.reversed

    @property
    def awaiting_return(self) -> Decimal:
        """Routed back by an approved withdrawal and not yet reported refunded."""
        return max(self.routed - self.returned_to_source, ZERO)

    @property
    def reversible(self) -> Decimal:
        """What a reversal may take from the account: what this deposit put there,
        less what withdrawals already took from it to route back."""
        return max(self.on_account - max(self.routed, self.returned_to_source), ZERO)

    @property
    def taken_back(self) -> Decimal:
        """Everything the provider took back, before or after the credit."""
        return self.reversed + self.reversed_before_credit

    @property
    def owed(self) -> Decimal:
        return self.amount - self.taken_back + self.reinstated

    @property
    def to_credit(self) -> Decimal:
        return self.owed - self.on_account

    @property
    def reinstatable(self) -> Decimal:
        """What may still come back: taken back (or refunded as a withdrawal's
        return to source) and not yet returned."""
        return self.taken_back + self.returned_to_source - self.reinstated

    @property
    def dispute_reinstatable(self) -> Decimal:
        """What a dispute's win naming no movement may return: never a refund's
        return to source (no dispute took that)."""
        refunded_to_source = self.returned_to_source - self.charged_back_to_source
        # Of those, what a failed refund already brought back is no longer out.
        still_out = max(refunded_to_source - self.refunds_failed, ZERO)
        return max(self.reinstatable - still_out, ZERO)

    @property
    def refunds_standing(self) -> Decimal:
        """Refunds recorded and not failed: what a running total of refunds is measured against."""
        return self.refunded - self.refunds_failed

    @property
    def latest_totals(self) -> tuple[int, frozenset[Decimal]] | None:
        """When the provider made its latest running total of refunds, and the
        totals reported for that second (more than one: not an order)."""
        if not self.totals:
            return None
        latest = max(made for _, made in self.totals)
        return latest, frozenset(total for total, made in self.totals if made == latest)

    def returnable(self, movement: str) -> Decimal:
        """What may still come back of one named movement."""
        return self.taken_by.get(movement, ZERO) - self.returned_of.get(movement, ZERO)


def _legacy(change: StatusChange, previous: Status | None, amount: Decimal) -> MoneyEffect | None:
    """What a change written before amounts were recorded moved (see the module doc)."""
    if change.status is Status.CREDITED and previous is not Status.CREDITED:
        return MoneyEffect.CREDIT
    if change.status in (Status.REFUNDED, Status.CHARGEBACK):
        if previous is Status.CREDITED:
            return MoneyEffect.REVERSAL
        if previous in (Status.PROVIDER_CONFIRMED, Status.CREDIT_FAILED, Status.MANUAL_REVIEW):
            return MoneyEffect.REVERSED_BEFORE_CREDIT
    return None


def deposit_money(transaction: Transaction) -> DepositMoney:  # noqa: PLR0912, PLR0915 - one branch per effect
    amount = transaction.amount
    credited = reversed_ = before = reinstated = refunded = refunds_failed = ZERO
    to_source = charged_back_to_source = ZERO
    failed_refunds: list[tuple[Decimal, int | None]] = []
    totals: list[tuple[Decimal, int]] = []
    credit_count = reversal_count = refund_failures = 0
    references: set[str] = set()
    taken_by: dict[str, Decimal] = defaultdict(Decimal)
    returned_of: dict[str, Decimal] = defaultdict(Decimal)
    previous: Status | None = None
    for change in transaction.history:
        effect, moved = change.money_effect, change.money_amount
        if effect is None:
            effect = _legacy(change, previous, amount)
            if effect is MoneyEffect.CREDIT:
                moved = amount
            elif effect is MoneyEffect.REVERSAL:
                moved = credited - reversed_
            elif effect is MoneyEffect.REVERSED_BEFORE_CREDIT:
                moved = amount - before - reversed_ + reinstated - (credited - reversed_)
        previous = change.status
        if change.money_total is not None and change.money_occurred_at is not None:
            totals.append((change.money_total, change.money_occurred_at))
        if effect is None or moved is None or effect is MoneyEffect.TOTAL_SEEN:
            continue
        if change.money_reference:
            references.add(change.money_reference)
        # What a refund or a chargeback sent back as a payout's return to source
        # (no ledger entry): it was taken back all the same, by its movement.
        sent = (change.money_to_source or ZERO) + (
            moved if effect is MoneyEffect.RETURNED_TO_SOURCE else ZERO
        )
        if sent:
            to_source += sent
            if change.code in CHARGEBACK_CODES:
                charged_back_to_source += sent
            else:
                refunded += sent
            if change.money_reference:
                taken_by[change.money_reference] += sent
        if change.money_before_credit:
            before += change.money_before_credit
            if change.money_reference:
                taken_by[change.money_reference] += change.money_before_credit
            if change.code in REFUND_CODES:
                refunded += change.money_before_credit
        if effect is MoneyEffect.CREDIT:
            credited += moved
            credit_count += 1
        elif effect in _TAKEN:
            if effect is MoneyEffect.REVERSAL:
                reversed_ += moved
                reversal_count += 1
            else:
                before += moved
            if change.money_reference:
                taken_by[change.money_reference] += moved
            if change.code in REFUND_CODES or (
                change.code is None and change.status is Status.REFUNDED
            ):
                refunded += moved
        elif effect is MoneyEffect.REINSTATED:
            reinstated += moved
            if change.money_returns:
                returned_of[change.money_returns] += moved
            if change.code is PublicReason.REFUND_FAILED:
                refunds_failed += moved
                refund_failures += 1
                failed = moved + (change.money_failed_first or ZERO)
                failed_refunds.append((failed, change.money_occurred_at))
    return DepositMoney(
        amount=amount,
        credited=credited,
        reversed=reversed_,
        reversed_before_credit=before,
        reinstated=reinstated,
        refunded=refunded,
        refunds_failed=refunds_failed,
        refund_failures=refund_failures,
        failed_refunds=tuple(failed_refunds),
        totals=tuple(totals),
        credits=credit_count,
        reversals=reversal_count,
        references=frozenset(references),
        taken_by=dict(taken_by),
        returned_of=dict(returned_of),
        routed=routed_back(transaction),
        returned_to_source=to_source,
        charged_back_to_source=charged_back_to_source,
    )


def routed_back(transaction: Transaction) -> Decimal:
    """What approved withdrawals' routes send back to this deposit."""
    return sum((Decimal(v) for v in (transaction.payout_returns or {}).values()), ZERO)
