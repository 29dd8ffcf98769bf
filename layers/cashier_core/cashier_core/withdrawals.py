"""CreateCashierWithdrawal: hold the funds and wait for BackOffice.

Checks, in order: withdrawals_not_allowed (hard gate), account_not_found,
account_currency_mismatch, amount_*, method_not_available (when a method is
named), insufficient_funds. The hold itself is one TransactWriteItems whose
condition `balance >= amount` is what makes two concurrent withdrawals unable
to overdraw; the read-time balance check only gives an early, clear answer.
"""

from __future__ import annotations

from cashier_core.api import Caller
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
from cashier_core.schemas import WithdrawalBody
from cashier_core.statuses import TransactionType
from cashier_core.telemetry import count


def create_withdrawal(
    cashier: Cashier, caller: Caller, body: WithdrawalBody, idempotency_key: str
) -> Transaction:
    customer, account = cashier.customer_and_account(caller.customer_id, body.account_id)
    if not customer.withdrawal_allowed:  # the hard gate, before anything about the account
        raise WithdrawalsNotAllowed()
    if account is None:
        raise AccountNotFound()
    currency = validate_currency(body.currency)
    if currency != account.currency:
        raise AccountCurrencyMismatch()
    amount = parse_amount(body.amount, currency)
    provider = None
    if body.method_id is not None:
        config = next(
            (
                c
                for c in cashier.provider_configs(customer.brand_id)
                if c.method_id == body.method_id
            ),
            None,
        )
        if config is None:
            raise MethodNotAvailable()
        provider = config.provider
    if amount > account.balance:
        raise InsufficientFunds()

    wanted = new_transaction(
        transaction_id=transaction_id_for_request(customer.customer_id, idempotency_key),
        transaction_type=TransactionType.WITHDRAWAL,
        customer_id=customer.customer_id,
        account_id=account.account_id,
        brand_id=customer.brand_id,
        method_id=body.method_id,
        provider=provider,
        amount=amount,
        currency=currency,
        payout_details=dict(body.payout_details) if body.payout_details else None,
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
