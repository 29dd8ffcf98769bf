"""Where a deposit's money stands: credited, reversed, reinstated, and what is owed.

Read from the deposit's own history (each change records the money it moved,
models.MoneyEffect), so it is written in the same conditional write as the
ledger entry it describes and can never drift from it. Pure.

- on_account: what this deposit has put on the account and not taken back
  (the sum of its ledger entries);
- owed: what the customer should hold from it: the amount, less what the
  provider gave back or had taken by a dispute, plus what came back to us;
- to_credit: what a credit moves now (owed - on_account).

Changes written before amounts were recorded are read as the whole deposit:
a change into credited credited the amount, and a refund or chargeback out of
credited reversed what was on the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from cashier_core.models import MoneyEffect, Transaction
from cashier_core.statuses import PublicReason, Status

ZERO: Final = Decimal(0)
# The codes under which a refund (not a dispute) is recorded.
REFUND_CODES: Final = frozenset({PublicReason.REFUNDED, PublicReason.PARTIALLY_REFUNDED})


@dataclass(frozen=True, slots=True)
class DepositMoney:
    amount: Decimal
    credited: Decimal = ZERO
    reversed: Decimal = ZERO  # taken back from the account (ledger reversals)
    reversed_before_credit: Decimal = ZERO
    reinstated: Decimal = ZERO
    refunded: Decimal = ZERO  # refunds the provider reported, before or after the credit
    credits: int = 0  # credit movements so far (the next credit's ledger id counts them)
    reversals: int = 0  # reversal movements so far (a reversal the provider names no id for)
    references: frozenset[str] = frozenset()  # provider movements already recorded

    @property
    def on_account(self) -> Decimal:
        return self.credited - self.reversed

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
        """What may still come back: taken back and not yet returned."""
        return self.taken_back - self.reinstated


def deposit_money(transaction: Transaction) -> DepositMoney:
    amount = transaction.amount
    credited = reversed_ = before = reinstated = refunded = ZERO
    credit_count = reversal_count = 0
    references: set[str] = set()
    previous: Status | None = None
    for change in transaction.history:
        effect, moved = change.money_effect, change.money_amount
        if effect is None:
            # Written before amounts were recorded: the whole deposit moved.
            if change.status is Status.CREDITED and previous is not Status.CREDITED:
                effect, moved = MoneyEffect.CREDIT, amount
            elif change.status in (Status.REFUNDED, Status.CHARGEBACK) and (
                previous is Status.CREDITED
            ):
                effect, moved = MoneyEffect.REVERSAL, credited - reversed_
        if effect is not None and moved is not None:
            if change.money_reference:
                references.add(change.money_reference)
            if effect is MoneyEffect.CREDIT:
                credited += moved
                credit_count += 1
            elif effect is MoneyEffect.REVERSAL:
                reversed_ += moved
                reversal_count += 1
            elif effect is MoneyEffect.REVERSED_BEFORE_CREDIT:
                before += moved
            else:
                reinstated += moved
            if effect in (MoneyEffect.REVERSAL, MoneyEffect.REVERSED_BEFORE_CREDIT) and (
                change.code in REFUND_CODES
                or (change.code is None and change.status is Status.REFUNDED)
            ):
                refunded += moved
        previous = change.status
    return DepositMoney(
        amount=amount,
        credited=credited,
        reversed=reversed_,
        reversed_before_credit=before,
        reinstated=reinstated,
        refunded=refunded,
        credits=credit_count,
        reversals=reversal_count,
        references=frozenset(references),
    )
