"""Balance movements: the account's ADD and its immutable ledger entry.

Both are written in the same TransactWriteItems as the status change that
causes them (storage.transactions), so a balance never moves without its entry
and the entry's deterministic id makes each movement land once. What a movement
asks of the account (open, covered) is the domain's rule (models.LedgerKind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cashier_core.errors import (
    AccountClosed,
    AccountCurrencyMismatch,
    AccountNotFound,
    CashierError,
    InsufficientFunds,
)
from cashier_core.models import AccountStatus, LedgerEntry, LedgerKind, TradingAccount, Transaction
from cashier_core.storage.codec import from_item, to_item
from cashier_core.storage.conditions import n, s
from cashier_core.storage.tables import ACCOUNT_SORT_KEY, LEDGER_SORT_PREFIX


@dataclass(frozen=True, slots=True)
class BalanceWrites:
    entry: LedgerEntry
    account_update: dict[str, Any]
    ledger_put: dict[str, Any]


def balance_writes(
    accounts_table: str,
    transaction: Transaction,
    kind: LedgerKind,
    amount: Decimal,
    at: datetime,
    *,
    entry_id: str | None = None,
) -> BalanceWrites:
    """The account's ADD and the ledger entry of one movement of `transaction`."""
    entry = LedgerEntry.for_transaction(transaction, kind, at, amount, entry_id)
    conditions = [
        "attribute_exists(account_id)",
        "#currency = :currency",
        "#customer_id = :customer_id",
    ]
    names = {"#balance": "balance", "#currency": "currency", "#customer_id": "customer_id"}
    values: dict[str, Any] = {
        ":delta": n(entry.amount),
        ":currency": s(transaction.currency),
        ":customer_id": s(transaction.customer_id),
    }
    if kind.needs_open_account:
        conditions.append("#account_status = :open")
        names["#account_status"] = "status"
        values[":open"] = s(AccountStatus.OPEN.value)
    if kind.needs_cover:
        conditions.append("#balance >= :amount")
        values[":amount"] = n(amount)
    account_update = {
        "Update": {
            "TableName": accounts_table,
            "Key": {"account_id": s(transaction.account_id), "sk": s(ACCOUNT_SORT_KEY)},
            "UpdateExpression": "ADD #balance :delta",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    ledger_put = {
        "Put": {
            "TableName": accounts_table,
            "Item": to_item(entry, sk=LEDGER_SORT_PREFIX + entry.entry_id),
            "ConditionExpression": "attribute_not_exists(sk)",
        }
    }
    return BalanceWrites(entry, account_update, ledger_put)


def account_refusal(
    reason: Mapping[str, Any], transaction: Transaction, kind: LedgerKind
) -> CashierError:
    """Why the account's condition failed, from the item it returned."""
    item = reason.get("Item")
    if item is None:
        return AccountNotFound()
    account = from_item(TradingAccount, item)
    if account.customer_id != transaction.customer_id:
        return AccountNotFound()
    if account.currency != transaction.currency:
        return AccountCurrencyMismatch()
    if kind.needs_open_account and account.status is not AccountStatus.OPEN:
        return AccountClosed()
    return InsufficientFunds()
