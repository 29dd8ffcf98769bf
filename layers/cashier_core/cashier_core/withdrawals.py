"""CreateCashierWithdrawal: hold the funds and wait for BackOffice.

Checks, in order: withdrawals_not_allowed (hard gate), account_not_found,
account_currency_mismatch, amount_*, method_not_available (when a method is
named), insufficient_funds. The hold itself is one TransactWriteItems whose
condition `balance >= amount` is what makes two concurrent withdrawals unable
to overdraw; the read-time balance check only gives an early, clear answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from cashier_core.cashier import Cashier
from cashier_core.errors import (
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    IdempotencyKeyReused,
    InsufficientFunds,
    MethodNotAvailable,
    WithdrawalsNotAllowed,
)
from cashier_core.models import Transaction, new_transaction, transaction_id_for_request
from cashier_core.money import parse_amount, validate_currency
from cashier_core.statuses import TransactionType
from cashier_core.telemetry import count


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
        raise AccountCurrencyMismatch("The withdrawal's currency is not the account's currency.")
    amount = parse_amount(request.amount, currency)
    provider = None
    if request.method_id is not None:
        config = next(
            (
                c
                for c in cashier.provider_configs(customer.brand_id)
                if c.method_id == request.method_id
            ),
            None,
        )
        if config is None:
            raise MethodNotAvailable()
        provider = config.provider
    if amount > account.balance:
        raise InsufficientFunds()

    wanted = new_transaction(
        transaction_id=transaction_id_for_request(customer.customer_id, request.idempotency_key),
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
    try:
        held = cashier.transactions.open_withdrawal(wanted)
    except AlreadyApplied as existing:
        current = existing.current
        fields = ("type", "customer_id", "account_id", "amount", "currency", "method_id")
        if current is None or any(getattr(current, f) != getattr(wanted, f) for f in fields):
            raise IdempotencyKeyReused() from existing
        return current
    count("WithdrawalRequested")
    return held
