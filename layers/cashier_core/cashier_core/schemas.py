"""Request and response bodies of the public API.

The handlers' route signatures use these, so the committed OpenAPI document
is generated from them. Requests refuse unknown fields: a customer_id or a
status in a body is an error, never silently ignored or trusted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from cashier_core.eligibility import Direction, EligibleMethod, ExcludedMethod
from cashier_core.limits import Allowance
from cashier_core.models import MoneyEffect, StatusChange, Transaction
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


class LimitRefusal(Reply):
    """The deposit limit a `deposit_limit_exceeded` refusal is about."""

    period: str  # daily, weekly, monthly (calendar periods in UTC)
    period_key: str
    currency: str
    limit_amount: str | None
    limit_count: int | None
    used_amount: str
    used_count: int
    remaining_amount: str | None
    remaining_count: int | None
    resets_at: str


class ErrorDetail(Reply):
    code: str
    message: str
    # Only with deposit_limit_exceeded.
    limit: LimitRefusal | None = None


class ErrorReply(Reply):
    error: ErrorDetail


class StatusChangeReply(Reply):
    status: int
    status_name: str
    at: datetime
    # A code from a fixed list (README "Reason codes"); never an operator's note
    # or a provider's text, which only BackOffice sees.
    reason: PublicReason
    # The money this change moved (a credit, each refund or chargeback, money
    # returned), in the transaction's currency; null when it moved none.
    amount: str | None = None
    money_effect: MoneyEffect | None = None

    @classmethod
    def of(cls, change: StatusChange, currency: str) -> Self:
        return cls(
            status=int(change.status),
            status_name=Status(change.status).api_name,
            at=change.at,
            reason=change.public_reason,
            amount=format_amount(change.money_amount, currency)
            if change.money_amount is not None
            else None,
            money_effect=change.money_effect,
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
            history=[
                StatusChangeReply.of(change, transaction.currency)
                # Each change beside the one before it (None before the first).
                for previous, change in zip(
                    (None, *transaction.history), transaction.history, strict=False
                )
                if not _bookkeeping(previous, change)
            ],
        )


def _bookkeeping(previous: StatusChange | None, change: StatusChange) -> bool:
    """A running total kept to read later events by, which moved no money and
    changed no status: no news to the customer. One that came with a change of
    status (a move the total itself made) is shown."""
    return (
        change.money_effect is MoneyEffect.TOTAL_SEEN
        and previous is not None
        and previous.status is change.status
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


class DepositLimitReply(Reply):
    """One limited calendar period (UTC) of the account's currency: the limit,
    what is used of it and what remains; null where the limit has no amount
    (or no count)."""

    period: str  # daily, weekly, monthly
    period_key: str  # 2026-12-07, 2026-W49, 2026-12
    resets_at: datetime
    limit_amount: str | None
    limit_count: int | None
    used_amount: str
    used_count: int
    remaining_amount: str | None
    remaining_count: int | None

    @classmethod
    def of(cls, allowance: Allowance, currency: str) -> Self:
        def money(amount: Decimal | None) -> str | None:
            return format_amount(amount, currency) if amount is not None else None

        return cls(
            period=allowance.window.period.value,
            period_key=allowance.window.key,
            resets_at=allowance.window.resets_at,
            limit_amount=money(allowance.cap.amount),
            limit_count=allowance.cap.count,
            used_amount=format_amount(allowance.used.amount, currency),
            used_count=allowance.used.count,
            remaining_amount=money(allowance.amount_remaining),
            remaining_count=allowance.count_remaining,
        )


class MethodsReply(Reply):
    account_id: str
    currency: str
    # What the list is for; min/max are that direction's limits.
    direction: Direction
    deposit_allowed: bool
    withdrawal_allowed: bool
    methods: list[MethodReply]
    # The customer's deposit limits in this currency; each method's max_amount
    # already is at most what remains.
    deposit_limits: list[DepositLimitReply] = Field(default_factory=list)
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
            deposit_limits=[DepositLimitReply.of(a, currency) for a in found.allowances],
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
