"""CreateCashierWithdrawal: hold the funds and wait for BackOffice.

Checks, in order: withdrawals_not_allowed (hard gate), account_not_found,
account_currency_mismatch, amount_*, method_not_available (when a method is
named: the same eligibility rules as a deposit's, and the config must pay out),
amount_below_minimum / amount_above_maximum (the method's withdrawal_limits),
insufficient_funds. The hold itself is one TransactWriteItems whose
condition `balance >= amount` is what makes two concurrent withdrawals unable
to overdraw; the read-time balance check only gives an early, clear answer.

CancelCashierWithdrawal: the customer takes back a withdrawal still waiting for
BackOffice. transaction_not_found (another customer's answers the same),
withdrawal_cancellation_not_allowed (the brand's switch), then what
lifecycle.decide says: cancelled with the hold released, the same answer again
on a repeat, invalid_transition once BackOffice has acted.
"""

from __future__ import annotations

from dataclasses import dataclass

from cashier_core.cashier import Cashier
from cashier_core.deposits import AccountMethods, evaluate_for
from cashier_core.eligibility import Direction, MethodEvaluation, check_limits, require_eligible
from cashier_core.errors import (
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    IdempotencyKeyReused,
    InsufficientFunds,
    TransactionNotFound,
    TransitionRefused,
    WithdrawalCancellationNotAllowed,
    WithdrawalsNotAllowed,
)
from cashier_core.lifecycle import CustomerCancel, Outcome
from cashier_core.models import Transaction, new_transaction
from cashier_core.money import parse_amount, validate_currency
from cashier_core.request_ids import (
    is_same_request,
    transaction_id_for_request,
    unscoped_transaction_id_for_request,
)
from cashier_core.statuses import TransactionType
from cashier_core.storage.audit import AuditNote
from cashier_core.telemetry import count
from cashier_core.transitions import execute


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    """A customer's withdrawal request, as the handler parsed it; the customer is
    the authorizer's, never the body's."""

    customer_id: str
    account_id: str
    amount: str  # as sent: parsed here for the account's currency
    currency: str
    method_id: str | None
    payout_details: dict[str, str] | None
    idempotency_key: str


def create_withdrawal(cashier: Cashier, request: WithdrawalRequest) -> Transaction:
    customer, account = cashier.customer_and_account(request.customer_id, request.account_id)
    if not customer.withdrawal_allowed:  # the hard gate, before anything about the account
        raise WithdrawalsNotAllowed()
    if account is None:
        raise AccountNotFound()
    currency = validate_currency(request.currency)
    if currency != account.currency:
        raise AccountCurrencyMismatch()
    amount = parse_amount(request.amount, currency)
    provider = None
    if request.method_id is not None:
        evaluation = evaluate_for(cashier, customer, account, payout=True)
        method = require_eligible(evaluation, request.method_id)
        check_limits(method, amount)  # the method's withdrawal_limits
        provider = method.config.provider

    wanted = new_transaction(
        transaction_id=transaction_id_for_request(
            TransactionType.WITHDRAWAL, customer.customer_id, request.idempotency_key
        ),
        transaction_type=TransactionType.WITHDRAWAL,
        customer_id=customer.customer_id,
        account_id=account.account_id,
        brand_id=customer.brand_id,
        method_id=request.method_id,
        provider=provider,
        amount=amount,
        currency=currency,
        payout_details=dict(request.payout_details) if request.payout_details else None,
        source="customer",
        reason="withdrawal requested; funds held for BackOffice",
        at=cashier.clock(),
    )
    earlier = _held_before_the_key_was_scoped(cashier, customer.customer_id, request)
    if earlier is not None:
        return _same_request(earlier, wanted)
    if amount > account.balance:
        raise InsufficientFunds()
    try:
        held = cashier.transactions.open_withdrawal(wanted)
    except AlreadyApplied as existing:
        if existing.current is None:
            raise IdempotencyKeyReused() from existing
        return _same_request(existing.current, wanted)
    count("WithdrawalRequested")
    return held


def _held_before_the_key_was_scoped(
    cashier: Cashier, customer_id: str, request: WithdrawalRequest
) -> Transaction | None:
    """A withdrawal this key made before ids were scoped by operation lives at
    the unscoped id; a retry of it must find it, not hold the funds twice. A
    deposit there is another operation's, and not this request's business.
    One consistent read per withdrawal: withdrawals are few and each is held
    for a person, so the extra call is cheap next to a double hold."""
    try:
        found = cashier.transactions.get(
            unscoped_transaction_id_for_request(customer_id, request.idempotency_key)
        )
    except TransactionNotFound:
        return None
    if found.type is not TransactionType.WITHDRAWAL or found.customer_id != customer_id:
        return None
    return found


def _same_request(current: Transaction, wanted: Transaction) -> Transaction:
    """A retry of the same request finds its withdrawal; another request under
    the same key (after the idempotency record expired) is refused."""
    if not is_same_request(current, wanted):
        raise IdempotencyKeyReused()
    return current


def list_withdrawal_methods(cashier: Cashier, customer_id: str, account_id: str) -> AccountMethods:
    """GetCashierMethods with direction=withdrawal: the same evaluate_methods as
    a withdrawal naming a method (it must pay out; its limits are the config's
    withdrawal_limits). Empty, with withdrawal_allowed false, for a customer
    whose withdrawals are barred."""
    customer, account = cashier.customer_and_account(customer_id, account_id)
    if account is None:
        raise AccountNotFound()
    evaluation = (
        evaluate_for(cashier, customer, account, payout=True)
        if customer.withdrawal_allowed
        else MethodEvaluation([], [])
    )
    return AccountMethods(
        account,
        deposit_allowed=customer.deposit_allowed,
        evaluation=evaluation,
        direction=Direction.WITHDRAWAL,
        withdrawal_allowed=customer.withdrawal_allowed,
    )


@dataclass(frozen=True, slots=True)
class CancelResult:
    transaction: Transaction
    applied: bool  # False: it was already cancelled by this customer, nothing written


def cancel_withdrawal(cashier: Cashier, customer_id: str, transaction_id: str) -> CancelResult:
    """waiting (manual_review) -> cancelled, the hold released with its ledger
    entry and an audit record in one write, as lifecycle.decide says."""
    transaction = cashier.transactions.get_for_customer(customer_id, transaction_id)
    if transaction.type is not TransactionType.WITHDRAWAL:
        raise TransactionNotFound("No such withdrawal.")
    brand = cashier.brand(transaction.brand_id)
    if brand is not None and not brand.customer_cancels_withdrawals:
        raise WithdrawalCancellationNotAllowed()
    who = f"customer:{customer_id}"
    note = AuditNote(
        action="cancel_withdrawal", principal=who, reason="customer request", operator=who[:128]
    )
    result = execute(cashier, transaction, CustomerCancel(), source="customer", audit=note)
    if result.move.outcome is Outcome.IGNORE:
        raise TransactionNotFound("No such withdrawal.")
    if result.move.outcome is Outcome.REFUSE:
        raise TransitionRefused(
            result.transaction, "The withdrawal is no longer waiting; it cannot be cancelled."
        )
    if result.written:
        count("WithdrawalCancelled")
    return CancelResult(result.transaction, applied=result.written)
