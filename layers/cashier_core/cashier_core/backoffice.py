"""BackOffice operations: what a person does with withdrawals, reviewed deposits
and failed credits.

Every operation is one guarded status change (or balance movement) written in
the same TransactWriteItems as its append-only audit record, and each is
idempotent: asking for a state the transaction is already in answers with it
(`applied=False`) and writes nothing. A deposit is only ever credited by the
credit worker: BackOffice moves it to provider_confirmed and enqueues it, the
single credit path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final

from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import (
    AlreadyApplied,
    CreditEnqueueFailed,
    RetryableConflict,
    TransactionNotFound,
    TransitionRefused,
)
from cashier_core.logs import logger
from cashier_core.models import AuditRecord, LedgerEntry, TradingAccount, Transaction
from cashier_core.money import format_amount, parse_amount, validate_currency
from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.transactions import AuditNote, Page, WorkQueueQuery
from cashier_core.telemetry import count

BANK_WIRE: Final = "bank_wire"
STALE_READ_RETRIES: Final = 3
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


Move = Callable[[Transaction, AuditNote], Transaction]


def _act(
    cashier: Cashier,
    operator: Operator,
    transaction: Transaction,
    *,
    action: str,
    target: Status,
    reason: str,
    move: Move,
    details: Mapping[str, str] | None = None,
    done: frozenset[Status] = frozenset(),
) -> ActionResult:
    """Apply `move` to the transaction as read; re-read and decide again when
    another writer got there first; answer a repeat with the current state.
    `done` names later statuses that also mean "this was already done"."""
    note = AuditNote(action=action, principal=operator.principal, reason=reason, details=details)
    log = {"transaction_id": transaction.transaction_id, "action": action}
    for _ in range(STALE_READ_RETRIES):
        if transaction.status is target or transaction.status in done:
            logger.info("backoffice action already applied", extra=log)
            return ActionResult(transaction, applied=False)
        try:
            changed = move(transaction, note)
        except AlreadyApplied as already:
            # Another operator's identical action committed first.
            transaction = already.current or cashier.transactions.get(transaction.transaction_id)
            continue
        except TransitionRefused as refused:
            if refused.current.version != transaction.version:
                transaction = refused.current  # stale read: decide again on the current item
                continue
            raise
        count("BackOfficeAction", action=action)
        logger.info("backoffice action applied", extra={**log, "status": target.api_name})
        return ActionResult(changed, applied=True)
    raise RetryableConflict("The transaction kept changing; retry the operation.")


def _status_move(
    cashier: Cashier,
    operator: Operator,
    target: Status,
    *,
    reason: str,
    only_from: frozenset[Status],
    set_fields: Mapping[str, object] | None = None,
) -> Move:
    """A guarded status change, written with the action's audit record."""

    def move(current: Transaction, audit: AuditNote) -> Transaction:
        return cashier.transactions.apply_change(
            current,
            target,
            reason=reason,
            source=operator.source,
            only_from=only_from,
            set_fields=set_fields,
            audit=audit,
        )

    return move


def _load(cashier: Cashier, transaction_id: str, transaction_type: TransactionType) -> Transaction:
    transaction = cashier.transactions.get(transaction_id)
    if transaction.type is not transaction_type:
        # A deposit's id on a withdrawal route is "no such withdrawal".
        raise TransactionNotFound(f"No such {transaction_type.value}.")
    return transaction


def _enqueue(queue: CreditQueue, result: ActionResult) -> ActionResult:
    """Hand a confirmed deposit to the credit worker. Also on a repeat: the first
    attempt's message may be lost, and crediting is idempotent."""
    if result.transaction.status is Status.PROVIDER_CONFIRMED:
        try:
            queue.enqueue(result.transaction)
        except Exception as error:
            log = {"transaction_id": result.transaction.transaction_id}
            logger.exception("credit enqueue failed", extra=log)
            raise CreditEnqueueFailed(
                "The deposit is confirmed but could not be queued; retry, or the sweeper will."
            ) from error
    return result


# --- withdrawals -------------------------------------------------------------
def approve_withdrawal(
    cashier: Cashier, operator: Operator, transaction_id: str, *, payout_reference: str, note: str
) -> ActionResult:
    """manual_review -> provider_confirmed; the held funds stay debited."""
    transaction = _load(cashier, transaction_id, TransactionType.WITHDRAWAL)
    move = _status_move(
        cashier,
        operator,
        Status.PROVIDER_CONFIRMED,
        reason=f"approved for payout: {note}" if note else "approved for payout",
        only_from=frozenset({Status.MANUAL_REVIEW}),
        set_fields={"provider_reference": payout_reference},
    )
    return _act(
        cashier,
        operator,
        transaction,
        action="approve_withdrawal",
        target=Status.PROVIDER_CONFIRMED,
        reason=note,
        move=move,
        details={"payout_reference": payout_reference},
    )


def _release(
    cashier: Cashier,
    operator: Operator,
    transaction_id: str,
    *,
    action: str,
    target: Status,
    only_from: frozenset[Status],
    reason: str,
) -> ActionResult:
    transaction = _load(cashier, transaction_id, TransactionType.WITHDRAWAL)

    def move(current: Transaction, audit: AuditNote) -> Transaction:
        return cashier.transactions.release_withdrawal_hold(
            current, target, reason=reason, source=operator.source, only_from=only_from, audit=audit
        )

    return _act(
        cashier, operator, transaction, action=action, target=target, reason=reason, move=move
    )


def reject_withdrawal(
    cashier: Cashier, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review -> cancelled, and the hold goes back to the balance."""
    return _release(
        cashier,
        operator,
        transaction_id,
        action="reject_withdrawal",
        target=Status.CANCELLED,
        only_from=frozenset({Status.MANUAL_REVIEW}),
        reason=reason,
    )


def fail_payout(
    cashier: Cashier, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review or provider_confirmed -> failed, and the hold goes back."""
    return _release(
        cashier,
        operator,
        transaction_id,
        action="fail_payout",
        target=Status.FAILED,
        only_from=frozenset({Status.MANUAL_REVIEW, Status.PROVIDER_CONFIRMED}),
        reason=reason,
    )


# --- deposits --------------------------------------------------------------
def _confirm(
    cashier: Cashier,
    queue: CreditQueue,
    operator: Operator,
    transaction: Transaction,
    *,
    action: str,
    only_from: frozenset[Status],
    reason: str,
    details: Mapping[str, str] | None = None,
) -> ActionResult:
    move = _status_move(
        cashier, operator, Status.PROVIDER_CONFIRMED, reason=reason, only_from=only_from
    )
    result = _act(
        cashier,
        operator,
        transaction,
        action=action,
        target=Status.PROVIDER_CONFIRMED,
        reason=reason,
        move=move,
        details=details,
        # Credited already is done too: the queue got there first.
        done=frozenset({Status.CREDITED}),
    )
    return _enqueue(queue, result)


def credit_reviewed_deposit(
    cashier: Cashier, queue: CreditQueue, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review -> provider_confirmed, then the credit queue credits it.
    The credit is always the deposit's own amount."""
    transaction = _load(cashier, transaction_id, TransactionType.DEPOSIT)
    return _confirm(
        cashier,
        queue,
        operator,
        transaction,
        action="credit_reviewed_deposit",
        only_from=frozenset({Status.MANUAL_REVIEW}),
        reason=f"credited after review: {reason}",
    )


def reject_reviewed_deposit(
    cashier: Cashier, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """manual_review -> failed: nothing is credited."""
    transaction = _load(cashier, transaction_id, TransactionType.DEPOSIT)
    move = _status_move(
        cashier,
        operator,
        Status.FAILED,
        reason=f"rejected after review: {reason}",
        only_from=frozenset({Status.MANUAL_REVIEW}),
    )
    return _act(
        cashier,
        operator,
        transaction,
        action="reject_reviewed_deposit",
        target=Status.FAILED,
        reason=reason,
        move=move,
    )


def retry_failed_credit(
    cashier: Cashier, queue: CreditQueue, operator: Operator, transaction_id: str, *, reason: str
) -> ActionResult:
    """credit_failed -> provider_confirmed once the cause is fixed, re-enqueued."""
    transaction = _load(cashier, transaction_id, TransactionType.DEPOSIT)
    return _confirm(
        cashier,
        queue,
        operator,
        transaction,
        action="retry_failed_credit",
        only_from=frozenset({Status.CREDIT_FAILED}),
        reason=f"credit retried: {reason}",
    )


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
    """A wire arrived. The amount it carried decides: the deposit's own amount
    confirms it (and the queue credits it); any other amount, or a wire for a
    deposit already failed or cancelled, sends it to manual_review."""
    received_currency = validate_currency(currency)
    received = parse_amount(amount, received_currency)
    transaction = cashier.transactions.find_by_provider_reference(BANK_WIRE, reference)
    if transaction is None:
        raise TransactionNotFound("No bank wire deposit has that reference.")
    received_text = f"{format_amount(received, received_currency)} {received_currency}"
    details = {"reference": reference, "received": received_text}
    matches = received == transaction.amount and received_currency == transaction.currency
    if matches and transaction.status not in (Status.FAILED, Status.CANCELLED):
        return _confirm(
            cashier,
            queue,
            operator,
            transaction,
            action="confirm_bank_wire",
            only_from=frozenset({Status.PENDING_PAYMENT}),
            reason=f"wire of {received_text} received: {reason}",
            details=details,
        )
    expected = f"{format_amount(transaction.amount, transaction.currency)} {transaction.currency}"
    why = (
        f"wire of {received_text} received, expected {expected}"
        if not matches
        else f"wire of {received_text} received after {transaction.status.api_name}"
    )

    move = _status_move(
        cashier,
        operator,
        Status.MANUAL_REVIEW,
        reason=why,
        only_from=frozenset({Status.PENDING_PAYMENT, Status.FAILED, Status.CANCELLED}),
    )
    return _act(
        cashier,
        operator,
        transaction,
        action="confirm_bank_wire",
        target=Status.MANUAL_REVIEW,
        reason=f"{why}: {reason}",
        move=move,
        details=details,
    )


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
    return cashier.transactions.work_queue_page(
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
