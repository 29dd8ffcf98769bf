"""Request and response bodies of the public API.

The handlers' route signatures use these, so the committed OpenAPI document
is generated from them. Requests refuse unknown fields: a customer_id or a
status in a body is an error, never silently ignored or trusted.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from cashier_core.eligibility import Direction, EligibleMethod, ExcludedMethod
from cashier_core.models import StatusChange, Transaction
from cashier_core.money import format_amount
from cashier_core.statuses import PublicReason, Status, TransactionType

if TYPE_CHECKING:
    from cashier_core.deposits import AccountMethods

IdText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
# Amounts are strings; the domain parser gives each malformed one its own code.
AmountText = Annotated[
    str, Field(strict=True, max_length=64, examples=["10.50"], description="Decimal string")
]
CurrencyText = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$")]
DetailText = Annotated[str, StringConstraints(strict=True, max_length=256)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class DepositBody(Request):
    account_id: IdText
    method_id: IdText
    amount: AmountText
    currency: CurrencyText
    return_url: Annotated[str, StringConstraints(strict=True, max_length=2048)] | None = None


class WithdrawalBody(Request):
    account_id: IdText
    amount: AmountText
    currency: CurrencyText
    method_id: IdText | None = None
    payout_details: Annotated[dict[IdText, DetailText], Field(max_length=20)] | None = None


class CancelWithdrawalBody(Request):
    """The cancel route takes no fields: a status or a customer_id sent along is
    refused (unknown_field), never silently ignored."""


class MethodsQuery(Request):
    account_id: IdText
    explain: bool = False
    direction: Direction = Direction.DEPOSIT


class HistoryQueryParams(Request):
    account_id: IdText | None = None
    type: TransactionType | None = None
    status: Annotated[int, Field(ge=0, le=9)] | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=1024)] | None = None


class ErrorDetail(Reply):
    code: str
    message: str


class ErrorReply(Reply):
    error: ErrorDetail


class StatusChangeReply(Reply):
    status: int
    status_name: str
    at: datetime
    # A code from a fixed list (README "Reason codes"); never an operator's note
    # or a provider's text, which only BackOffice sees.
    reason: PublicReason

    @classmethod
    def of(cls, change: StatusChange) -> Self:
        return cls(
            status=int(change.status),
            status_name=Status(change.status).api_name,
            at=change.at,
            reason=change.public_reason,
        )


class TransactionReply(Reply):
    transaction_id: str
    type: TransactionType
    account_id: str
    method_id: str | None
    provider: str | None
    amount: str
    currency: str
    status: int
    status_name: str
    provider_reference: str | None
    redirect_url: str | None
    instructions: dict[str, str] | None
    created_at: datetime
    updated_at: datetime
    history: list[StatusChangeReply]

    @classmethod
    def of(cls, transaction: Transaction) -> Self:
        return cls(
            transaction_id=transaction.transaction_id,
            type=transaction.type,
            account_id=transaction.account_id,
            method_id=transaction.method_id,
            provider=transaction.provider,
            amount=format_amount(transaction.amount, transaction.currency),
            currency=transaction.currency,
            status=int(transaction.status),
            status_name=transaction.status.api_name,
            provider_reference=transaction.provider_reference,
            redirect_url=transaction.redirect_url,
            instructions=transaction.instructions,
            created_at=transaction.created_at,
            updated_at=transaction.updated_at,
            history=[StatusChangeReply.of(change) for change in transaction.history],
        )


class DepositReply(Reply):
    transaction: TransactionReply
    redirect_url: str | None
    instructions: dict[str, str] | None


class WithdrawalReply(Reply):
    transaction: TransactionReply


class CancelWithdrawalReply(Reply):
    transaction: TransactionReply
    # False: it was already cancelled by this customer and nothing was written.
    applied: bool


class MethodReply(Reply):
    method_id: str
    provider: str
    display_name: str
    currency: str
    min_amount: str | None
    max_amount: str | None
    redirects: bool
    # Whether the method pays out: a withdrawal may name it.
    pays_out: bool

    @classmethod
    def of(cls, method: EligibleMethod, currency: str) -> Self:
        limits = method.limits
        return cls(
            method_id=method.config.method_id,
            provider=method.config.provider,
            display_name=method.config.display_name,
            currency=currency,
            min_amount=format_amount(limits.min_amount, currency) if limits.min_amount else None,
            max_amount=format_amount(limits.max_amount, currency) if limits.max_amount else None,
            redirects=method.redirects,
            pays_out=method.config.payouts,
        )


class ExcludedMethodReply(Reply):
    method_id: str
    provider: str
    display_name: str
    reason: str

    @classmethod
    def of(cls, excluded: ExcludedMethod) -> Self:
        return cls(
            method_id=excluded.config.method_id,
            provider=excluded.config.provider,
            display_name=excluded.config.display_name,
            reason=excluded.reason.value,
        )


class MethodsReply(Reply):
    account_id: str
    currency: str
    # What the list is for; min/max are that direction's limits.
    direction: Direction
    deposit_allowed: bool
    withdrawal_allowed: bool
    methods: list[MethodReply]
    excluded: list[ExcludedMethodReply] | None = None

    @classmethod
    def of(cls, found: AccountMethods, *, explain: bool) -> Self:
        """`excluded` only when asked to explain."""
        currency = found.account.currency
        return cls(
            account_id=found.account.account_id,
            currency=currency,
            direction=found.direction,
            deposit_allowed=found.deposit_allowed,
            withdrawal_allowed=found.withdrawal_allowed,
            methods=[MethodReply.of(method, currency) for method in found.evaluation.eligible],
            excluded=[ExcludedMethodReply.of(e) for e in found.evaluation.excluded]
            if explain
            else None,
        )


class HistoryReply(Reply):
    transactions: list[TransactionReply]
    next_cursor: str | None


class WebhookReply(Reply):
    """What the sandbox and Stripe get; Adyen gets its own `[accepted]`."""

    received: bool
