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

from cashier_core.statuses import Status


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """A provider says a payment reached `target` (a webhook, or the janitor's question)."""

    provider: str
    target: Status
    raw_status: str
    amount: Decimal | None = None
    currency: str | None = None
    # False only for a module that declares, in code, that it never reports amounts.
    reports_amounts: bool = True
    new_reference: str | None = None


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
    # approve_withdrawal: the return-to-source route chosen (checked by the caller).
    payout_route: dict[str, str] | None = None


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
