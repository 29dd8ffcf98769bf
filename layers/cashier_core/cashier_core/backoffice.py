"""BackOffice operations: what a person does with withdrawals, reviewed deposits
and failed credits.

What each operation does is lifecycle.decide's (an OperatorAction); the one
executor writes it as a guarded status change (or balance movement) in the same
TransactWriteItems as its append-only audit record. Each is idempotent: asking
for a state the transaction is already in answers with it (`applied=False`) and
writes nothing. A deposit is only ever credited by the
credit worker: BackOffice moves it to provider_confirmed and enqueues it, the
single credit path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import (
    CashierError,
    CreditEnqueueFailed,
    PayoutReferenceRequired,
    PayoutReturnedToSource,
    RetryableConflict,
    RouteChanged,
    RouteNotApproved,
    SecondApproverRequired,
    TransactionNotFound,
    TransitionRefused,
)
from cashier_core.lifecycle import OperatorAction, OperatorActionKind, Outcome
from cashier_core.logs import logger
from cashier_core.models import AuditRecord, LedgerEntry, TradingAccount, Transaction
from cashier_core.money import format_amount, parse_amount, validate_currency
from cashier_core.return_to_source import (
    BY_WITHDRAWAL_METHOD,
    SourceDeposit,
    SourceTotal,
    Suggestion,
    check_route,
    source_deposits,
    suggest,
    totals_by_method,
)
from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.audit import AuditNote
from cashier_core.storage.pages import Page, WorkQueueQuery
from cashier_core.telemetry import count
from cashier_core.transitions import execute

BANK_WIRE: Final = "bank_wire"
STALE_READ_RETRIES: Final = 3  # reconciliation's re-reads
# Listing deposits carries each one's provider events, so its pages are smaller.
MAX_DEPOSIT_PAGE: Final = 25
MAX_EVENTS_PER_DEPOSIT: Final = 10


@dataclass(frozen=True, slots=True)
class Operator:
    """The IAM principal API Gateway authenticated (SigV4), never a body field."""

    principal: str

    @property
    def source(self) -> str:
        return f"backoffice:{self.principal}"

    @property
    def identity(self) -> str:
        """Who the person is: an assumed role's session name, which the
        BackOffice roles' trust policy requires to equal the session's source
        identity (set with MFA, unchangeable for the session), or an IAM user's
        name. API Gateway passes on the caller's ARN, not the source identity."""
        resource = self.principal.split(":", 5)[-1]
        kind, _, rest = resource.partition("/")
        if kind == "assumed-role":
            return rest.rsplit("/", 1)[-1][:128]
        return rest.rsplit("/", 1)[-1][:128] if rest else self.principal[:128]


@dataclass(frozen=True, slots=True)
class ActionResult:
    transaction: Transaction
    applied: bool  # False: it was already in that state, nothing was written


@dataclass(frozen=True, slots=True)
class Reconciliation:
    account: TradingAccount
    ledger_sum: Decimal
    entries: int

    @property
    def difference(self) -> Decimal:
        return self.account.balance - self.ledger_sum


# An operator refusal's own stable code (operator_decisions), as the error it answers.
_REFUSALS: Final[dict[str, type[CashierError]]] = {
    error.code: error
    for error in (
        SecondApproverRequired,
        RouteNotApproved,
        PayoutReferenceRequired,
        PayoutReturnedToSource,
    )
}


def _act(
    cashier: Cashier,
    operator: Operator,
    transaction: Transaction,
    action: OperatorAction,
    *,
    queue: CreditQueue | None = None,
    details: Mapping[str, str] | None = None,
) -> ActionResult:
    """Carry out an operator's action as lifecycle.decide says, with its audit
    record in the same write. A repeat answers with the current state
    (applied=False); what the table forbids from here is 409."""
    note = AuditNote(
        action=action.kind.value,
        principal=operator.principal,
        reason=action.note,
        details=details,
        operator=operator.identity,
    )
    log = {"transaction_id": transaction.transaction_id, "action": action.kind.value}
    result = execute(cashier, transaction, action, source=operator.source, audit=note)
    if result.move.outcome is Outcome.IGNORE:
        raise TransactionNotFound(f"No such {transaction.type.value}.")
    if result.move.outcome is Outcome.REFUSE:
        refusal = _REFUSALS.get(result.move.refusal or "")
        if refusal is not None:
            raise refusal()
        raise TransitionRefused(result.transaction)
    if result.written:
        count("BackOfficeAction", action=action.kind.value)
        logger.info(
            "backoffice action applied",
            extra={**log, "status": result.transaction.status.api_name},
        )
    else:
        logger.info("backoffice action already applied", extra=log)
    action_result = ActionResult(result.transaction, applied=result.written)
    if queue is not None and result.enqueue:
        _enqueue(queue, action_result)
    return action_result


def _load(cashier: Cashier, transaction_id: str, transaction_type: TransactionType) -> Transaction:
    transaction = cashier.transactions.get(transaction_id)
    if transaction.type is not transaction_type:
        # A deposit's id on a withdrawal route is "no such withdrawal".
        raise TransactionNotFound(f"No such {transaction_type.value}.")
    return transaction


def _enqueue(queue: CreditQueue, result: ActionResult) -> None:
    """Hand a confirmed deposit to the credit worker. Also on a repeat: the first
    attempt's message may be lost, and crediting is idempotent."""
    try:
        queue.enqueue(result.transaction)
    except Exception as error:
        log = {"transaction_id": result.transaction.transaction_id}
        logger.exception("credit enqueue failed", extra=log)
        raise CreditEnqueueFailed(
            "The deposit is confirmed but could not be queued; retry, or the sweeper will."
        ) from error


# --- withdrawals -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WithdrawalView:
    """One withdrawal as BackOffice decides it: where the customer's money came
    from on that account, and the return-to-source split suggested for it."""

    transaction: Transaction
    source_providers: frozenset[str]
    deposits: list[SourceDeposit]
    totals: list[SourceTotal]
    suggestion: Suggestion


def withdrawal_view(cashier: Cashier, transaction_id: str) -> WithdrawalView:
    transaction = _load(cashier, transaction_id, TransactionType.WITHDRAWAL)
    deposits, providers = _sources(cashier, transaction)
    return WithdrawalView(
        transaction=transaction,
        source_providers=providers,
        deposits=deposits,
        totals=totals_by_method(deposits),
        suggestion=suggest(transaction, deposits, providers),
    )


def _sources(
    cashier: Cashier, transaction: Transaction, fresh: Mapping[str, Transaction] | None = None
) -> tuple[list[SourceDeposit], frozenset[str]]:
    """The account's source deposits; those in `fresh` (read consistently, the
    versions a route's shares are pinned to) replace the index's copies."""
    brand = cashier.brand(transaction.brand_id)
    providers = brand.return_to_source_providers if brand else frozenset()
    transactions = cashier.transactions.of_account(transaction.account_id)
    if fresh:
        transactions = [fresh.get(t.transaction_id, t) for t in transactions]
        seen = {t.transaction_id for t in transactions}
        transactions += [t for t in fresh.values() if t.transaction_id not in seen]
    deposits = source_deposits(
        transaction, transactions, cashier.accounts.ledger(transaction.account_id)
    )
    return deposits, providers


def _route_deposits(
    cashier: Cashier, withdrawal: Transaction, *routes: Mapping[str, str] | None
) -> dict[str, Transaction]:
    """The deposits the routes name, read consistently (another account's, or
    not a deposit: left out, and check_route refuses the route)."""
    named = {key for route in routes if route for key in route if key != BY_WITHDRAWAL_METHOD}
    found: dict[str, Transaction] = {}
    for deposit_id in sorted(named):
        try:
            deposit = cashier.transactions.get(deposit_id)
        except TransactionNotFound:
            continue
        if deposit.type is TransactionType.DEPOSIT and deposit.account_id == withdrawal.account_id:
            found[deposit_id] = deposit
    return found


# A route's deposits changed between the check and the write: check again.
ROUTE_ATTEMPTS: Final = 3


def approve_withdrawal(
    cashier: Cashier,
    operator: Operator,
    transaction_id: str,
    *,
    payout_reference: str | None,
    note: str,
    route: Mapping[str, str] | None = None,
) -> ActionResult:
    """manual_review -> provider_confirmed (paid out); the held funds stay debited.
    Above the brand's second_approval_over for the currency, the first approval
    is recorded (manual_review -> manual_review, first_approved_by, its route and
    reference) and a different principal completes that same route; the same
    principal again is second_approver_required, another route route_not_approved.
    `route` is the return-to-source split chosen (return_to_source.check_route);
    the approval that completes it writes each deposit's share with it, pinned to
    the deposit as checked, so one deposit's money is never routed back twice."""
    for _ in range(ROUTE_ATTEMPTS):
        transaction = _load(cashier, transaction_id, TransactionType.WITHDRAWAL)
        # The route a second approval completes, checked again against the deposits now.
        approved = transaction.payout_route if transaction.first_approved_by else None
        fresh = _route_deposits(cashier, transaction, route, approved)
        payout_route = None
        if route is not None or approved:
            deposits, providers = _sources(cashier, transaction, fresh)
            if route is not None:
                payout_route = check_route(transaction, route, deposits, providers)
            if approved and transaction.status is Status.MANUAL_REVIEW:
                check_route(transaction, approved, deposits, providers)
        # Read now, not from the container's cache: a threshold just set binds at once.
        brand = cashier.brands.get(transaction.brand_id)
        threshold = brand.second_approval_over.get(transaction.currency) if brand else None
        action = OperatorAction(
            OperatorActionKind.APPROVE_WITHDRAWAL,
            note=note,
            payout_reference=payout_reference,
            principal=operator.principal,
            second_approval_over=threshold,
            payout_route=payout_route,
            route_deposits=tuple(fresh.values()),
        )
        details: dict[str, str] = {}
        if payout_reference is not None:
            details["payout_reference"] = payout_reference
        if payout_route is not None:
            details["payout_route"] = ", ".join(f"{k}={v}" for k, v in payout_route.items())
        if threshold is not None and transaction.amount > threshold:
            details["second_approval_over"] = format_amount(threshold, transaction.currency)
        try:
            return _act(cashier, operator, transaction, action, details=details)
        except RouteChanged:
            continue
    raise RetryableConflict("The route's deposits kept changing; retry.")


def reject_withdrawal(
    cashier: Cashier, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review -> cancelled, and the hold goes back to the balance."""
    transaction = _load(cashier, transaction_id, TransactionType.WITHDRAWAL)
    action = OperatorAction(OperatorActionKind.REJECT_WITHDRAWAL, note=reason)
    return _act(cashier, operator, transaction, action)


def fail_payout(
    cashier: Cashier, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review or provider_confirmed -> failed, and the hold goes back; a
    paid-out route's shares leave its deposits (refused once the provider
    reported one of them refunded: payout_returned_to_source)."""
    for _ in range(ROUTE_ATTEMPTS):
        transaction = _load(cashier, transaction_id, TransactionType.WITHDRAWAL)
        fresh = _route_deposits(cashier, transaction, transaction.payout_route)
        action = OperatorAction(
            OperatorActionKind.FAIL_PAYOUT, note=reason, route_deposits=tuple(fresh.values())
        )
        try:
            return _act(cashier, operator, transaction, action)
        except RouteChanged:
            continue
    raise RetryableConflict("The route's deposits kept changing; retry.")


# --- deposits --------------------------------------------------------------
def credit_reviewed_deposit(
    cashier: Cashier, queue: CreditQueue, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review -> provider_confirmed, then the credit queue credits it.
    The credit is always the deposit's own amount."""
    transaction = _load(cashier, transaction_id, TransactionType.DEPOSIT)
    action = OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT, note=reason)
    return _act(cashier, operator, transaction, action, queue=queue)


def reject_reviewed_deposit(
    cashier: Cashier, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review -> failed: nothing is credited."""
    transaction = _load(cashier, transaction_id, TransactionType.DEPOSIT)
    action = OperatorAction(OperatorActionKind.REJECT_REVIEWED_DEPOSIT, note=reason)
    return _act(cashier, operator, transaction, action)


def retry_failed_credit(
    cashier: Cashier, queue: CreditQueue, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """credit_failed -> provider_confirmed once the cause is fixed, re-enqueued."""
    transaction = _load(cashier, transaction_id, TransactionType.DEPOSIT)
    action = OperatorAction(OperatorActionKind.RETRY_FAILED_CREDIT, note=reason)
    return _act(cashier, operator, transaction, action, queue=queue)


def confirm_bank_wire(
    cashier: Cashier,
    queue: CreditQueue,
    operator: Operator,
    *,
    reference: str,
    amount: str,
    currency: str,
    reason: str,
) -> ActionResult:
    """A wire arrived; what it carried decides (lifecycle.decide): the deposit's
    own amount confirms it and the queue credits it; anything else, or a wire
    for a deposit already failed or cancelled, goes to manual_review."""
    received_currency = validate_currency(currency)
    received = parse_amount(amount, received_currency)
    transaction = cashier.transactions.find_by_provider_reference(BANK_WIRE, reference)
    if transaction is None:
        raise TransactionNotFound("No bank wire deposit has that reference.")
    details = {
        "reference": reference,
        "received": f"{format_amount(received, received_currency)} {received_currency}",
    }
    action = OperatorAction(
        OperatorActionKind.CONFIRM_BANK_WIRE,
        note=reason,
        amount=received,
        currency=received_currency,
    )
    return _act(cashier, operator, transaction, action, queue=queue, details=details)


# --- lists -----------------------------------------------------------------
def waiting(
    cashier: Cashier,
    *,
    transaction_type: TransactionType,
    status: Status,
    brand_id: str | None,
    older_than: timedelta,
    limit: int,
    cursor: str | None,
) -> Page:
    """Longest-waiting first: what sits in `status` since before now - older_than."""
    query = WorkQueueQuery(
        status=status,
        type=transaction_type,
        brand_id=brand_id,
        updated_before=cashier.clock() - older_than,
    )
    return cashier.pages.work_queue_page(
        query, codec=cashier.cursor_codec(), limit=limit, cursor=cursor
    )


# --- accounts --------------------------------------------------------------
def reconcile_account(cashier: Cashier, operator: Operator, account_id: str) -> Reconciliation:
    """Recompute the balance from the ledger and report any difference; never
    write the balance. The balance is read before and after the ledger, and
    the pair must agree, so a movement landing mid-read is not a difference."""
    for _ in range(STALE_READ_RETRIES):
        before = cashier.accounts.get(account_id, consistent=True)
        entries: list[LedgerEntry] = cashier.accounts.ledger(account_id)
        after = cashier.accounts.get(account_id, consistent=True)
        if before.balance == after.balance:
            break
    else:
        raise RetryableConflict("The account kept moving; retry the reconciliation.")
    result = Reconciliation(after, sum((e.amount for e in entries), Decimal(0)), len(entries))
    at = cashier.clock()
    cashier.audit.append(
        AuditRecord(
            subject_id=account_id,
            audit_id=f"reconcile#{at.isoformat()}#{uuid.uuid4().hex[:8]}",
            action="reconcile_account",
            principal=operator.principal,
            operator=operator.identity,
            reason="reconciliation",
            at=at,
            details={
                "balance": format_amount(after.balance, after.currency),
                "ledger_sum": format_amount(result.ledger_sum, after.currency),
                "difference": format_amount(result.difference, after.currency),
            },
        )
    )
    if result.difference != 0:
        count("ReconciliationDifference", currency=after.currency)
        logger.error(
            "balance differs from its ledger",
            extra={"account_id": account_id, "difference": str(result.difference)},
        )
    return result
