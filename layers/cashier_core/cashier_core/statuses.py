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
        # provider_confirmed -> provider_confirmed and credit_failed ->
        # credit_failed: a running total of refunds that moves nothing, kept
        # with its time while the credit waits (lifecycle._total_seen).
        S.PROVIDER_CONFIRMED: frozenset(
            {S.CREATED, S.PENDING_PAYMENT, S.MANUAL_REVIEW, S.CREDIT_FAILED, S.PROVIDER_CONFIRMED}
        ),
        # credited -> credited: part of the deposit refunded or charged back;
        # the change records the amount and its ledger entry moves it.
        S.CREDITED: frozenset({S.PROVIDER_CONFIRMED, S.CREDITED}),
        S.CREDIT_FAILED: frozenset({S.PROVIDER_CONFIRMED, S.CREDIT_FAILED}),
        # manual_review -> failed is a person rejecting a reviewed deposit (OPERATOR_ONLY).
        S.FAILED: frozenset({S.CREATED, S.PENDING_PAYMENT, S.MANUAL_REVIEW}),
        S.CANCELLED: frozenset({S.CREATED, S.PENDING_PAYMENT}),
        # Money must have been taken before it can be given back or disputed. A
        # refund or dispute during review is applied, so that review can never
        # credit money that has already left; only credited is reversed.
        # refunded -> refunded: a refund failure or a running total of refunds
        # that moves nothing, recorded with its time (lifecycle reads later ones
        # against it).
        S.REFUNDED: frozenset(
            {S.PROVIDER_CONFIRMED, S.CREDITED, S.CREDIT_FAILED, S.MANUAL_REVIEW, S.REFUNDED}
        ),
        # chargeback -> chargeback: as refunded -> refunded.
        S.CHARGEBACK: frozenset(
            {S.PROVIDER_CONFIRMED, S.CREDITED, S.CREDIT_FAILED, S.MANUAL_REVIEW, S.CHARGEBACK}
        ),
        # A success after failed/cancelled, an amount mismatch, or a reversed
        # chargeback needs a person; it never jumps back onto the success path.
        # provider_confirmed and credit_failed -> manual_review: a refund or dispute
        # of part of a deposit not yet credited; a person decides what to credit.
        # credited, refunded, chargeback -> manual_review: money taken back came
        # back (a dispute won, a refund failed), or a reversal larger than what
        # is left; a person re-credits through the one credit path.
        # manual_review -> manual_review: a partial reversal recorded during review.
        S.MANUAL_REVIEW: frozenset(
            {
                S.CREATED,
                S.PENDING_PAYMENT,
                S.PROVIDER_CONFIRMED,
                S.CREDITED,
                S.CREDIT_FAILED,
                S.FAILED,
                S.CANCELLED,
                S.REFUNDED,
                S.CHARGEBACK,
                S.MANUAL_REVIEW,
            }
        ),
    },
    TransactionType.WITHDRAWAL: {
        # A withdrawal is born in manual_review together with its hold (see
        # INITIAL_STATUS); nothing moves into created or the deposit-only states.
        # provider_confirmed is "approved and paid out by BackOffice": finished
        # business for every scheduled job (it is not in WORK_QUEUE_STATUSES).
        S.CREATED: frozenset(),
        S.PENDING_PAYMENT: frozenset(),
        S.PROVIDER_CONFIRMED: frozenset({S.MANUAL_REVIEW}),
        S.CREDITED: frozenset(),
        S.CREDIT_FAILED: frozenset(),
        S.FAILED: frozenset({S.MANUAL_REVIEW, S.PROVIDER_CONFIRMED}),
        S.CANCELLED: frozenset({S.MANUAL_REVIEW}),
        S.REFUNDED: frozenset(),
        S.CHARGEBACK: frozenset(),
        # manual_review -> manual_review is the first of two approvals (four
        # eyes, over the brand's second_approval_over): recorded, still waiting.
        S.MANUAL_REVIEW: frozenset({S.MANUAL_REVIEW}),
    },
}

INITIAL_STATUS: Final[dict[TransactionType, Status]] = {
    TransactionType.DEPOSIT: S.CREATED,
    TransactionType.WITHDRAWAL: S.MANUAL_REVIEW,
}

# Statuses a scheduled job or an operator still has to act on, per type. Only
# these are kept in the sparse work-queue index, so it never fills with finished
# history. An approved withdrawal waits for nobody: it is not work.
WORK_QUEUE_STATUSES: Final[dict[TransactionType, frozenset[Status]]] = {
    TransactionType.DEPOSIT: frozenset(
        {S.CREATED, S.PENDING_PAYMENT, S.PROVIDER_CONFIRMED, S.CREDIT_FAILED, S.MANUAL_REVIEW}
    ),
    TransactionType.WITHDRAWAL: frozenset({S.MANUAL_REVIEW}),
}


def is_work(transaction_type: TransactionType, status: Status) -> bool:
    return status in WORK_QUEUE_STATUSES[transaction_type]


# Changes only a person (BackOffice) may make. A provider's event never takes a
# deposit out of review (a refund or dispute aside: that money has left), or a
# failed credit back onto the credit path: a second "succeeded" after an amount
# mismatch must not credit what a person is checking, and a late "failed" must
# not drop a reviewed deposit, perhaps with captured money, out of the queue.
_BOTH_TYPES_OPERATOR_ONLY: Final = frozenset(
    {
        (S.MANUAL_REVIEW, S.PROVIDER_CONFIRMED),
        (S.MANUAL_REVIEW, S.FAILED),
        (S.CREDIT_FAILED, S.PROVIDER_CONFIRMED),
    }
)
# Per type: a withdrawal's manual_review -> manual_review is its first of two
# approvals (a person's only); a deposit's is a partial reversal recorded while
# a person looks (a provider's).
OPERATOR_ONLY: Final[dict[TransactionType, frozenset[tuple[Status, Status]]]] = {
    TransactionType.DEPOSIT: _BOTH_TYPES_OPERATOR_ONLY,
    TransactionType.WITHDRAWAL: _BOTH_TYPES_OPERATOR_ONLY | {(S.MANUAL_REVIEW, S.MANUAL_REVIEW)},
}


def allowed_sources(transaction_type: TransactionType, target: Status) -> frozenset[Status]:
    return ALLOWED_SOURCES[transaction_type][target]


def automatic_sources(transaction_type: TransactionType, target: Status) -> frozenset[Status]:
    """The sources a provider event or a scheduled job may move a transaction from."""
    return frozenset(
        source
        for source in ALLOWED_SOURCES[transaction_type][target]
        if (source, target) not in OPERATOR_ONLY[transaction_type]
    )


def can_transition(transaction_type: TransactionType, source: Status, target: Status) -> bool:
    return source in ALLOWED_SOURCES[transaction_type][target]


def is_final(transaction_type: TransactionType, status: Status) -> bool:
    """True when no transition leaves this status at all."""
    return not any(status in sources for sources in ALLOWED_SOURCES[transaction_type].values())


class PublicReason(StrEnum):
    """Why a transaction is where it is, as customers see it: a fixed list of
    codes (README), never an operator's words or a provider's error text. The
    internal note beside each change is for BackOffice only."""

    DEPOSIT_REQUESTED = "deposit_requested"
    WITHDRAWAL_REQUESTED = "withdrawal_requested"
    PAYMENT_STARTED = "payment_started"
    PAYMENT_NOT_STARTED = "payment_not_started"
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_CANCELLED = "payment_cancelled"
    PAYMENT_EXPIRED = "payment_expired"
    UNDER_REVIEW = "under_review"
    CREDITED = "credited"
    CREDIT_DELAYED = "credit_delayed"
    REFUNDED = "refunded"
    CHARGEBACK = "chargeback"
    PARTIALLY_REFUNDED = "partially_refunded"
    PARTIAL_CHARGEBACK = "partial_chargeback"
    FUNDS_REINSTATED = "funds_reinstated"
    REFUND_FAILED = "refund_failed"
    REVIEW_APPROVED = "review_approved"
    REVIEW_DECLINED = "review_declined"
    WITHDRAWAL_APPROVED = "withdrawal_approved"
    WITHDRAWAL_DECLINED = "withdrawal_declined"
    PAYOUT_FAILED = "payout_failed"
    WITHDRAWAL_CANCELLED = "withdrawal_cancelled"


# What a change written before reason codes existed shows: its status's code.
LEGACY_REASONS: Final[dict[Status, PublicReason]] = {
    S.CREATED: PublicReason.DEPOSIT_REQUESTED,
    S.PENDING_PAYMENT: PublicReason.PAYMENT_STARTED,
    S.PROVIDER_CONFIRMED: PublicReason.PAYMENT_CONFIRMED,
    S.CREDITED: PublicReason.CREDITED,
    S.CREDIT_FAILED: PublicReason.CREDIT_DELAYED,
    S.FAILED: PublicReason.PAYMENT_FAILED,
    S.CANCELLED: PublicReason.PAYMENT_CANCELLED,
    S.REFUNDED: PublicReason.REFUNDED,
    S.CHARGEBACK: PublicReason.CHARGEBACK,
    S.MANUAL_REVIEW: PublicReason.UNDER_REVIEW,
}

# What each code tells a customer (README "Reason codes" is generated from this).
REASON_MEANINGS: Final[dict[PublicReason, str]] = {
    PublicReason.DEPOSIT_REQUESTED: "the deposit was requested",
    PublicReason.WITHDRAWAL_REQUESTED: "the withdrawal was requested; its funds are held",
    PublicReason.PAYMENT_STARTED: "the payment was created at the provider",
    PublicReason.PAYMENT_NOT_STARTED: "the provider could not start the payment",
    PublicReason.PAYMENT_CONFIRMED: "the provider confirmed the payment",
    PublicReason.PAYMENT_FAILED: "the provider reported the payment failed",
    PublicReason.PAYMENT_CANCELLED: "the payment was cancelled",
    PublicReason.PAYMENT_EXPIRED: "the payment was not completed in time",
    PublicReason.UNDER_REVIEW: "the payment is being checked by our team",
    PublicReason.CREDITED: "the amount was credited to the trading account",
    PublicReason.CREDIT_DELAYED: "the credit is delayed; our team is on it",
    PublicReason.REFUNDED: "the payment was refunded",
    PublicReason.CHARGEBACK: "the payment was disputed with the card issuer",
    PublicReason.PARTIALLY_REFUNDED: "part of the payment was refunded (amount shown)",
    PublicReason.PARTIAL_CHARGEBACK: "part of the payment was disputed (amount shown)",
    PublicReason.FUNDS_REINSTATED: "money taken back was returned; our team will re-credit it",
    PublicReason.REFUND_FAILED: "a refund failed and its money came back; "
    "our team will re-credit it",
    PublicReason.REVIEW_APPROVED: "our team approved the payment",
    PublicReason.REVIEW_DECLINED: "our team declined the payment",
    PublicReason.WITHDRAWAL_APPROVED: "the withdrawal was approved and paid out",
    PublicReason.WITHDRAWAL_DECLINED: "the withdrawal was declined; the funds are back",
    PublicReason.PAYOUT_FAILED: "the payout failed; the funds are back",
    PublicReason.WITHDRAWAL_CANCELLED: "you cancelled the withdrawal; the funds are back",
}
