"""Transaction statuses and the one table of allowed status changes.

The numbers are part of the public API: clients store and compare them, so a
value is never renumbered or reused.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final


class Status(IntEnum):
    CREATED = 0
    PENDING_PAYMENT = 1
    PROVIDER_CONFIRMED = 2
    CREDITED = 3
    CREDIT_FAILED = 4
    FAILED = 5
    CANCELLED = 6
    REFUNDED = 7
    CHARGEBACK = 8
    MANUAL_REVIEW = 9

    @property
    def api_name(self) -> str:
        """The lower-case name clients see next to the number."""
        return self.name.lower()


class TransactionType(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


S = Status

# For each target status, the statuses it may be entered from. This is the only
# place the lifecycle is written down; storage turns it into DynamoDB conditions
# and the README table is generated from it (scripts/render_docs.py).
ALLOWED_SOURCES: Final[dict[TransactionType, dict[Status, frozenset[Status]]]] = {
    TransactionType.DEPOSIT: {
        S.CREATED: frozenset(),
        S.PENDING_PAYMENT: frozenset({S.CREATED}),
        # manual_review -> provider_confirmed is BackOffice crediting a reviewed
        # deposit; credit_failed -> provider_confirmed is a retry once the cause
        # is fixed. Both then go through the one credit path.
        S.PROVIDER_CONFIRMED: frozenset(
            {S.CREATED, S.PENDING_PAYMENT, S.MANUAL_REVIEW, S.CREDIT_FAILED}
        ),
        S.CREDITED: frozenset({S.PROVIDER_CONFIRMED}),
        S.CREDIT_FAILED: frozenset({S.PROVIDER_CONFIRMED}),
        S.FAILED: frozenset({S.CREATED, S.PENDING_PAYMENT, S.MANUAL_REVIEW}),
        S.CANCELLED: frozenset({S.CREATED, S.PENDING_PAYMENT}),
        # Money must have been taken before it can be given back or disputed.
        S.REFUNDED: frozenset({S.PROVIDER_CONFIRMED, S.CREDITED, S.CREDIT_FAILED}),
        S.CHARGEBACK: frozenset({S.PROVIDER_CONFIRMED, S.CREDITED, S.CREDIT_FAILED}),
        # A success after failed/cancelled, an amount mismatch, or a reversed
        # chargeback needs a person; it never jumps back onto the success path.
        S.MANUAL_REVIEW: frozenset(
            {S.CREATED, S.PENDING_PAYMENT, S.FAILED, S.CANCELLED, S.CHARGEBACK}
        ),
    },
    TransactionType.WITHDRAWAL: {
        # A withdrawal is born in manual_review together with its hold (see
        # INITIAL_STATUS); nothing moves into created or the deposit-only states.
        S.CREATED: frozenset(),
        S.PENDING_PAYMENT: frozenset(),
        S.PROVIDER_CONFIRMED: frozenset({S.MANUAL_REVIEW}),
        S.CREDITED: frozenset(),
        S.CREDIT_FAILED: frozenset(),
        S.FAILED: frozenset({S.MANUAL_REVIEW, S.PROVIDER_CONFIRMED}),
        S.CANCELLED: frozenset({S.MANUAL_REVIEW}),
        S.REFUNDED: frozenset(),
        S.CHARGEBACK: frozenset(),
        S.MANUAL_REVIEW: frozenset(),
    },
}

INITIAL_STATUS: Final[dict[TransactionType, Status]] = {
    TransactionType.DEPOSIT: S.CREATED,
    TransactionType.WITHDRAWAL: S.MANUAL_REVIEW,
}

# Statuses a scheduled job or an operator still has to act on. Only these are
# kept in the sparse work-queue index, so it never fills with finished history.
WORK_QUEUE_STATUSES: Final[frozenset[Status]] = frozenset(
    {S.CREATED, S.PENDING_PAYMENT, S.PROVIDER_CONFIRMED, S.CREDIT_FAILED, S.MANUAL_REVIEW}
)


# Changes only a person (BackOffice) may make. A provider's event never takes a
# deposit out of review, or a failed credit back onto the credit path: a second
# "succeeded" after an amount mismatch must not credit what a person is checking.
OPERATOR_ONLY: Final[frozenset[tuple[Status, Status]]] = frozenset(
    {(S.MANUAL_REVIEW, S.PROVIDER_CONFIRMED), (S.CREDIT_FAILED, S.PROVIDER_CONFIRMED)}
)


def allowed_sources(transaction_type: TransactionType, target: Status) -> frozenset[Status]:
    return ALLOWED_SOURCES[transaction_type][target]


def automatic_sources(transaction_type: TransactionType, target: Status) -> frozenset[Status]:
    """The sources a provider event or a scheduled job may move a transaction from."""
    return frozenset(
        source
        for source in ALLOWED_SOURCES[transaction_type][target]
        if (source, target) not in OPERATOR_ONLY
    )


def can_transition(transaction_type: TransactionType, source: Status, target: Status) -> bool:
    return source in ALLOWED_SOURCES[transaction_type][target]


def is_final(transaction_type: TransactionType, status: Status) -> bool:
    """True when no transition leaves this status at all."""
    return not any(status in sources for sources in ALLOWED_SOURCES[transaction_type].values())
