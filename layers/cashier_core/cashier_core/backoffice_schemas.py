"""Request and response bodies of the internal BackOffice API.

Operators see what customers do not: the customer, the brand, and who caused
each status change. Requests refuse unknown fields, as the public API's do.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Literal, Self

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import Field, StringConstraints

from cashier_core.backoffice import ActionResult, Reconciliation, WithdrawalView
from cashier_core.models import ParkedEvent, ParkedState, Transaction, WebhookDelivery
from cashier_core.money import format_amount
from cashier_core.positions import deposit_money
from cashier_core.schemas import (
    AmountText,
    CurrencyText,
    IdText,
    Reply,
    Request,
    StatusChangeReply,
    TransactionReply,
)
from cashier_core.statuses import Status, TransactionType

# Path parameters are checked before any DynamoDB key is built from them.
IdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
ReasonText = Annotated[str, StringConstraints(strict=True, min_length=3, max_length=512)]


class ReasonBody(Request):
    reason: ReasonText


class ApproveWithdrawalBody(Request):
    # The payout's reference; the approval that completes the payout needs one
    # (or the first approval's), else 422 payout_reference_required.
    payout_reference: (
        Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)] | None
    ) = None
    note: Annotated[str, StringConstraints(strict=True, max_length=512)] = ""
    # Return to source: a source deposit's id -> the amount refunded to it, and
    # "withdrawal_method" -> the rest; together the withdrawal's amount.
    route: Annotated[dict[IdText, AmountText], Field(min_length=1, max_length=50)] | None = None


class ResolveDepositBody(Request):
    decision: Literal["credit", "reject"]
    reason: ReasonText


class BankWireConfirmationBody(Request):
    reference: IdText
    amount: AmountText
    currency: CurrencyText
    reason: Annotated[str, StringConstraints(strict=True, max_length=512)] = ""


class WaitingQuery(Request):
    brand_id: IdText | None = None
    older_than_minutes: Annotated[int, Field(ge=0, le=525_600)] = 0
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, StringConstraints(max_length=1024)] | None = None


class ReviewStatus(IntEnum):
    """The two deposit states a person resolves."""

    CREDIT_FAILED = int(Status.CREDIT_FAILED)
    MANUAL_REVIEW = int(Status.MANUAL_REVIEW)


class WaitingDepositsQuery(WaitingQuery):
    status: ReviewStatus = ReviewStatus.MANUAL_REVIEW
    limit: Annotated[int, Field(ge=1, le=25)] = 25


class OperatorStatusChange(StatusChangeReply):
    source: str
    # The internal note (operator's words, provider text): BackOffice only.
    note: str


class OperatorTransaction(Reply):
    transaction_id: str
    type: TransactionType
    customer_id: str
    account_id: str
    brand_id: str
    method_id: str | None
    provider: str | None
    amount: str
    currency: str
    status: int
    status_name: str
    provider_reference: str | None
    created_at: datetime
    updated_at: datetime
    waiting_reason: str  # why it is where it is: the last change's reason
    # Four eyes: who approved a withdrawal first, and whether it now waits for
    # a different principal's approval.
    first_approved_by: str | None
    awaiting_second_approval: bool
    # Where the payout goes (the IBAN to pay to): operators only, never the customer's view.
    payout_details: dict[str, str] | None
    payout_route: dict[str, str] | None  # the return-to-source route chosen at approval
    history: list[OperatorStatusChange]
    # Where a deposit's money stands (positions.py): what it put on the account
    # and what was taken back from it, what came back after a reversal, and
    # what a credit would move now.
    credited_amount: str | None = None
    reversed_amount: str | None = None
    reinstated_amount: str | None = None
    to_credit: str | None = None
    # Return to source: approved withdrawals' shares of this deposit (withdrawal
    # id -> amount to refund to it), and what the provider reported of them.
    payout_returns: dict[str, str] | None = None
    returned_to_source_amount: str | None = None

    @classmethod
    def of(cls, transaction: Transaction) -> Self:
        # The customer's view formats the money and names the statuses; the
        # operator's adds who the transaction belongs to and who moved it.
        shown = TransactionReply.of(transaction).model_dump(
            exclude={"history", "redirect_url", "instructions"}
        )
        money = deposit_money(transaction) if transaction.type is TransactionType.DEPOSIT else None

        def shown_money(value: Decimal) -> str:
            return format_amount(value, transaction.currency)

        return cls(
            **shown,
            credited_amount=shown_money(money.credited) if money else None,
            reversed_amount=shown_money(money.taken_back) if money else None,
            reinstated_amount=shown_money(money.reinstated) if money else None,
            to_credit=shown_money(max(money.to_credit, Decimal(0))) if money else None,
            payout_returns=transaction.payout_returns,
            returned_to_source_amount=shown_money(money.returned_to_source) if money else None,
            customer_id=transaction.customer_id,
            brand_id=transaction.brand_id,
            waiting_reason=transaction.history[-1].reason if transaction.history else "",
            first_approved_by=transaction.first_approved_by,
            payout_details=transaction.payout_details,
            payout_route=transaction.payout_route,
            awaiting_second_approval=transaction.first_approved_by is not None
            and transaction.status is Status.MANUAL_REVIEW,
            history=[
                OperatorStatusChange(
                    **StatusChangeReply.of(change, transaction.currency).model_dump(),
                    source=change.source,
                    note=change.reason,
                )
                for change in transaction.history
            ],
        )


class ProviderEventReply(Reply):
    provider: str
    provider_event_id: str
    raw_status: str
    target: int | None
    outcome: str
    received_at: datetime
    body: str
    headers: dict[str, str]

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> Self:
        return cls(
            provider=delivery.provider,
            provider_event_id=delivery.provider_event_id,
            raw_status=delivery.raw_status,
            target=int(delivery.target) if delivery.target is not None else None,
            outcome=delivery.outcome,
            received_at=delivery.received_at,
            body=delivery.body,
            headers=delivery.headers,
        )


class ParkedEventsQuery(Request):
    # unresolved: given up after the provider's retry window (the alarm's list);
    # open: still looked up again by the janitor.
    state: ParkedState = ParkedState.UNRESOLVED


class ParkedEventReply(Reply):
    provider: str
    provider_event_id: str
    raw_status: str
    state: ParkedState
    received_at: datetime
    body: str
    headers: dict[str, str]

    @classmethod
    def of(cls, parked: ParkedEvent) -> Self:
        return cls(
            provider=parked.provider,
            provider_event_id=parked.provider_event_id,
            raw_status=parked.raw_status,
            state=parked.state,
            received_at=parked.received_at,
            body=parked.body,
            headers=parked.headers,
        )


class ParkedEventsReply(Reply):
    events: list[ParkedEventReply]  # the oldest first, at most 100


class WaitingDeposit(Reply):
    transaction: OperatorTransaction
    provider_events: list[ProviderEventReply]


class WaitingWithdrawalsReply(Reply):
    withdrawals: list[OperatorTransaction]
    next_cursor: str | None


class WaitingDepositsReply(Reply):
    deposits: list[WaitingDeposit]
    next_cursor: str | None


class ActionReply(Reply):
    transaction: OperatorTransaction
    applied: bool  # false: it was already done; nothing was written

    @classmethod
    def of(cls, result: ActionResult) -> Self:
        return cls(transaction=OperatorTransaction.of(result.transaction), applied=result.applied)


class SourceDepositReply(Reply):
    transaction_id: str
    method_id: str | None
    provider: str | None
    created_at: datetime
    deposited: str
    reversed: str
    returned: str
    net: str
    source: bool  # a card or wallet deposit by the brand's policy: a refund goes here first


class SourceTotalReply(Reply):
    method_id: str | None
    provider: str | None
    deposited: str
    reversed: str
    returned: str
    net: str


class RefundReply(Reply):
    deposit_id: str
    method_id: str | None
    provider: str | None
    amount: str


class SuggestionReply(Reply):
    refunds: list[RefundReply]  # newest deposit first
    by_withdrawal_method: str  # the rest, by the withdrawal's own method
    route: dict[str, str]  # the same, as an approval's `route` body


class WithdrawalViewReply(Reply):
    transaction: OperatorTransaction
    return_to_source_providers: list[str]
    deposits_by_method: list[SourceTotalReply]
    deposits: list[SourceDepositReply]
    suggestion: SuggestionReply

    @classmethod
    def of(cls, view: WithdrawalView) -> Self:
        currency = view.transaction.currency

        def money(amount: Decimal) -> str:
            return format_amount(amount, currency)

        suggestion = view.suggestion
        return cls(
            transaction=OperatorTransaction.of(view.transaction),
            return_to_source_providers=sorted(view.source_providers),
            deposits_by_method=[
                SourceTotalReply(
                    method_id=t.method_id,
                    provider=t.provider,
                    deposited=money(t.deposited),
                    reversed=money(t.reversed),
                    returned=money(t.returned),
                    net=money(t.net),
                )
                for t in view.totals
            ],
            deposits=[
                SourceDepositReply(
                    transaction_id=d.transaction_id,
                    method_id=d.method_id,
                    provider=d.provider,
                    created_at=d.created_at,
                    deposited=money(d.deposited),
                    reversed=money(d.reversed),
                    returned=money(d.returned),
                    net=money(d.net),
                    source=d.provider in view.source_providers,
                )
                for d in view.deposits
            ],
            suggestion=SuggestionReply(
                refunds=[
                    RefundReply(
                        deposit_id=r.deposit_id,
                        method_id=r.method_id,
                        provider=r.provider,
                        amount=money(r.amount),
                    )
                    for r in suggestion.refunds
                ],
                by_withdrawal_method=money(suggestion.by_withdrawal_method),
                route={k: money(v) for k, v in suggestion.as_route().items()},
            ),
        )


class ReconciliationReply(Reply):
    account_id: str
    currency: str
    balance: str
    ledger_sum: str
    difference: str
    entries: int
    balanced: bool

    @classmethod
    def of(cls, result: Reconciliation) -> Self:
        currency = result.account.currency
        return cls(
            account_id=result.account.account_id,
            currency=currency,
            balance=format_amount(result.account.balance, currency),
            ledger_sum=format_amount(result.ledger_sum, currency),
            difference=format_amount(result.difference, currency),
            entries=result.entries,
            balanced=result.difference == 0,
        )
