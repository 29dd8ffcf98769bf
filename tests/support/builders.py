"""Domain records for tests, with defaults a test overrides only where it matters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cashier_core.models import (
    StatusChange,
    TradingAccount,
    Transaction,
)
from cashier_core.statuses import Status, TransactionType

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def account(**overrides: Any) -> TradingAccount:
    fields: dict[str, Any] = {
        "account_id": f"acc-{uuid.uuid4().hex[:10]}",
        "customer_id": "cus-alice",
        "brand_id": "brand-a",
        "currency": "USD",
        "balance": Decimal("0.00"),
    }
    fields.update(overrides)
    return TradingAccount(**fields)


def transaction(
    of: TradingAccount,
    *,
    status: Status = Status.CREATED,
    type: TransactionType = TransactionType.DEPOSIT,  # noqa: A002 - the model's field name
    amount: str = "25.00",
    at: datetime = T0,
    **overrides: Any,
) -> Transaction:
    fields: dict[str, Any] = {
        "transaction_id": f"txn-{uuid.uuid4().hex}",
        "type": type,
        "customer_id": of.customer_id,
        "account_id": of.account_id,
        "brand_id": of.brand_id,
        "method_id": "card",
        "provider": "sandbox",
        "amount": Decimal(amount),
        "currency": of.currency,
        "status": status,
        "created_at": at,
        "updated_at": at,
        "history": (StatusChange(status=status, at=at, reason="test setup", source="test"),),
        "version": 1,
    }
    fields.update(overrides)
    return Transaction(**fields)


def withdrawal(of: TradingAccount, amount: str = "25.00", **overrides: Any) -> Transaction:
    """A withdrawal as it is born: in manual_review, before its hold is written."""
    return transaction(
        of, type=TransactionType.WITHDRAWAL, status=Status.MANUAL_REVIEW, amount=amount, **overrides
    )
