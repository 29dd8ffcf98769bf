"""The one executor: carry out what lifecycle.decide says, once, for everyone.

Each entry point hands over the transaction as it read it and a signal. The
executor asks `decide`, writes an applied Move pinned to the version it was
decided on, and when another writer got there first (the write's condition
fails on a newer version) it decides again on the current item. Nothing here
chooses a status: it only writes, records and re-reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cashier_core.errors import (
    AlreadyApplied,
    DuplicateDelivery,
    RetryableConflict,
    TransitionRefused,
)
from cashier_core.lifecycle import Move, Outcome, Signal, SweepCheck, decide
from cashier_core.models import Transaction, WebhookDelivery
from cashier_core.storage.audit import AuditNote

if TYPE_CHECKING:
    from cashier_core.cashier import Cashier

STALE_READ_RETRIES: Final = 3
MAX_OUTCOME_LENGTH: Final = 512
# How a delivery that changed nothing is labelled in its stored outcome.
_RECORDED: Final = {
    Outcome.REFUSE: "refused",
    Outcome.IGNORE: "ignored",
    Outcome.ALREADY: "already applied",
    Outcome.SKIP: "skipped",
    Outcome.RETRY: "retry",
    Outcome.RECORD: "recorded",
    Outcome.APPLY: "applied",
}


@dataclass(frozen=True, slots=True)
class Executed:
    transaction: Transaction  # as written, or as it stands when nothing was written
    move: Move  # the decision carried out (made on the latest read)
    written: bool
    duplicate: bool = False  # the provider delivery was stored before: nothing changed

    @property
    def enqueue(self) -> bool:
        """Whether the deposit should (again) be handed to the credit worker."""
        if self.duplicate:
            return decide(self.transaction, SweepCheck()).enqueue
        return self.move.enqueue


def execute(
    cashier: Cashier,
    transaction: Transaction,
    signal: Signal,
    *,
    source: str,
    delivery: WebhookDelivery | None = None,
    audit: AuditNote | None = None,
) -> Executed:
    """Decide and write; on a stale read, decide again on the current item.

    A provider delivery is stored exactly once whatever the outcome: with the
    change it caused, or alone with the outcome that explains why nothing changed
    (so the provider's retries de-duplicate), and then only while the transaction
    is still at the version that outcome was decided on. Raises the account's refusal of a
    balance movement (AccountClosed, ...) for the caller's own signal.
    """
    for _ in range(STALE_READ_RETRIES):
        move = decide(transaction, signal)
        if not move.writes:
            if delivery is None:
                return Executed(transaction, move, written=False)
            outcome = f"{_RECORDED[move.outcome]}: {move.note}"[:MAX_OUTCOME_LENGTH]
            try:
                cashier.transactions.record_unchanged(
                    transaction, delivery.model_copy(update={"outcome": outcome})
                )
            except DuplicateDelivery:
                return Executed(transaction, move, written=False, duplicate=True)
            except TransitionRefused as refused:
                transaction = refused.current  # decided on a stale read: decide again
                continue
            return Executed(transaction, move, written=False)
        try:
            changed = cashier.transactions.write(
                transaction, move, source=source, delivery=delivery, audit=audit
            )
        except DuplicateDelivery:
            return Executed(transaction, move, written=False, duplicate=True)
        except TransitionRefused as refused:
            transaction = refused.current  # another writer got there first: decide again
            continue
        except AlreadyApplied:
            transaction = cashier.transactions.get(transaction.transaction_id)
            continue
        return Executed(changed, move, written=True)
    raise RetryableConflict("The transaction kept changing; retry.")
