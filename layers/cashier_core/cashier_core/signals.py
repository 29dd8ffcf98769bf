"""The signals lifecycle.decide takes: everything that can happen to a transaction.

Each entry point builds one from what it gathered (a verified provider event,
a status query's answer, the provider module's answer when a payment is
created, the janitor's finding, an operator's action, a credit attempt, the
sweeper's look); none of them carries a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from cashier_core.models import Transaction
from cashier_core.statuses import Status


class ProviderEffect(StrEnum):
    """What a provider's event says happened to a payment. Each module maps its
    own events onto these in one table (its EVENTS); lifecycle.decide says what
    each does to a deposit."""

    CONFIRMED = "confirmed"  # the payment succeeded: money was taken
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVIEW = "review"  # the provider itself asks for a person
    REFUND = "refund"  # money given back to the customer (all or part)
    CHARGEBACK = "chargeback"  # money taken back by a dispute (all or part)
    # A dispute opened without moving money (an inquiry, a notification of
    # chargeback, a request for information): recorded for BackOffice.
    DISPUTE_NOTICE = "dispute_notice"
    # Money taken back came back to us (a dispute won, a chargeback reversed, a
    # refund that failed or was returned): a person re-credits it.
    REINSTATED = "reinstated"
    # A refund failed or was returned: its money is back with us; a person
    # re-credits it. Never more than the refunds recorded.
    REFUND_FAILED = "refund_failed"
    NOTICE = "notice"  # recorded for BackOffice, no effect (a dispute lost after its reversal)

    @property
    def status(self) -> Status | None:
        """The status this effect asks for, where it asks for one (delivery records)."""
        return _EFFECT_STATUS.get(self)

    @classmethod
    def of_status(cls, status: Status) -> ProviderEffect | None:
        return next((effect for effect, s in _EFFECT_STATUS.items() if s is status), None)


# What lifecycle.decide does with each effect (the README's provider tables).
EFFECT_MEANINGS: dict[ProviderEffect, str] = {
    ProviderEffect.CONFIRMED: "provider_confirmed and queued for the credit when the amount "
    "and currency are ours; otherwise manual_review",
    ProviderEffect.FAILED: "failed (before any money was taken)",
    ProviderEffect.CANCELLED: "cancelled (before any money was taken)",
    ProviderEffect.REVIEW: "manual_review",
    ProviderEffect.REFUND: "reverses the amount reported (its own ledger entry), never more "
    "than is on the account; refunded when nothing is left, else stays credited",
    ProviderEffect.CHARGEBACK: "reverses the amount reported (its own ledger entry), never "
    "more than is on the account; chargeback when nothing is left, else stays credited",
    ProviderEffect.DISPUTE_NOTICE: "recorded for BackOffice; no money moves",
    ProviderEffect.REINSTATED: "manual_review with the amount returned; a person re-credits "
    "it through the one credit path",
    ProviderEffect.REFUND_FAILED: "manual_review with the refund's amount returned (never more "
    "than the refunds recorded); a person re-credits it through the one credit path",
    ProviderEffect.NOTICE: "recorded for BackOffice; nothing changes",
}

_EFFECT_STATUS: dict[ProviderEffect, Status] = {
    ProviderEffect.CONFIRMED: Status.PROVIDER_CONFIRMED,
    ProviderEffect.FAILED: Status.FAILED,
    ProviderEffect.CANCELLED: Status.CANCELLED,
    ProviderEffect.REVIEW: Status.MANUAL_REVIEW,
    ProviderEffect.REFUND: Status.REFUNDED,
    ProviderEffect.CHARGEBACK: Status.CHARGEBACK,
    ProviderEffect.REINSTATED: Status.MANUAL_REVIEW,
    ProviderEffect.REFUND_FAILED: Status.MANUAL_REVIEW,
}


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """A provider says something happened to a payment (a webhook, or the janitor's question)."""

    provider: str
    effect: ProviderEffect
    raw_status: str
    amount: Decimal | None = None
    currency: str | None = None
    # False only for a module that declares, in code, that it never reports amounts.
    reports_amounts: bool = True
    new_reference: str | None = None
    # The provider's id of this movement of money (a refund, a dispute's
    # withdrawal): the ledger entry's id is chosen from it, so whichever event
    # reports the movement first lands it, once.
    movement_reference: str | None = None
    # The amount is the running total of the payment's refunds (Stripe's
    # charge.refunded `amount_refunded`), not this refund's own.
    cumulative: bool = False
    # For money coming back: the movement it returns (a dispute's withdrawal);
    # nothing returns unless that movement is recorded.
    reinstates: str | None = None
    # When the provider made the event (epoch seconds), where it says.
    occurred_at: int | None = None
    # Why the event is not this transaction's config's to move (another mode,
    # merchant account, or a secret that is not the config's); None when it is.
    scope_mismatch: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentStarted:
    """The provider module created the payment (deposit creation)."""

    provider: str
    status: Status
    provider_reference: str
    redirect_url: str | None = None
    instructions: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class PaymentNotStarted:
    """The provider refused, failed or timed out while creating the payment."""

    provider: str
    error_code: str
    error_message: str


class JanitorFinding(StrEnum):
    ABANDONED = "abandoned"  # created for too long: the provider's answer never came
    EXPIRED = "expired"  # pending past the module's payment_expiry


@dataclass(frozen=True, slots=True)
class JanitorGaveUp:
    finding: JanitorFinding
    detail: str = ""


class OperatorActionKind(StrEnum):
    APPROVE_WITHDRAWAL = "approve_withdrawal"
    REJECT_WITHDRAWAL = "reject_withdrawal"
    FAIL_PAYOUT = "fail_payout"
    CREDIT_REVIEWED_DEPOSIT = "credit_reviewed_deposit"
    REJECT_REVIEWED_DEPOSIT = "reject_reviewed_deposit"
    RETRY_FAILED_CREDIT = "retry_failed_credit"
    CONFIRM_BANK_WIRE = "confirm_bank_wire"


@dataclass(frozen=True, slots=True)
class OperatorAction:
    kind: OperatorActionKind
    note: str = ""
    payout_reference: str | None = None  # approve_withdrawal
    amount: Decimal | None = None  # confirm_bank_wire: what the wire carried
    currency: str | None = None
    # approve_withdrawal: who acts (IAM), and the brand's four-eyes threshold
    # for the withdrawal's currency (None: one approval is always enough).
    principal: str = ""
    second_approval_over: Decimal | None = None
    # approve_withdrawal: the return-to-source route chosen (checked by the caller
    # against `route_deposits`). approve_withdrawal and fail_payout: the source
    # deposits a route names, as read (their shares are written pinned to them).
    payout_route: dict[str, str] | None = None
    route_deposits: tuple[Transaction, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerCancel:
    """The customer cancels their own withdrawal (ownership is checked on load)."""


@dataclass(frozen=True, slots=True)
class CreditAttempt:
    """The credit worker, with the transaction as stored (never as a message says)."""


@dataclass(frozen=True, slots=True)
class CreditRefused:
    """The account refused the credit for good (gone, closed, other currency)."""

    error_code: str
    error_message: str


@dataclass(frozen=True, slots=True)
class SweepCheck:
    """The sweeper asks whether a transaction it listed still needs a credit message."""


Signal = (
    ProviderReport
    | PaymentStarted
    | PaymentNotStarted
    | JanitorGaveUp
    | OperatorAction
    | CustomerCancel
    | CreditAttempt
    | CreditRefused
    | SweepCheck
)
