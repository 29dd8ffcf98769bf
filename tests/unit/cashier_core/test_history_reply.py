"""What the customer's history shows of a deposit's changes (schemas.TransactionReply)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from cashier_core.models import MoneyEffect, StatusChange, Transaction
from cashier_core.schemas import TransactionReply
from cashier_core.statuses import PublicReason, Status, TransactionType

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _change(
    status: Status, effect: MoneyEffect | None = None, amount: str | None = None
) -> StatusChange:
    return StatusChange(
        status=status, at=T0, reason="", source="t", code=PublicReason.REFUNDED,
        money_effect=effect, money_amount=Decimal(amount) if amount else None,
        money_total=Decimal("10.00") if effect is MoneyEffect.TOTAL_SEEN else None,
        money_occurred_at=1 if effect is MoneyEffect.TOTAL_SEEN else None,
    )  # fmt: skip


def _deposit(*history: StatusChange) -> Transaction:
    return Transaction(
        transaction_id="txn-h", type=TransactionType.DEPOSIT, customer_id="cus",
        account_id="acc", brand_id="b", amount=Decimal("10.00"), currency="USD",
        status=history[-1].status, created_at=T0, updated_at=T0, history=history, version=1,
    )  # fmt: skip


def test_a_running_total_that_changed_nothing_is_not_shown_to_the_customer() -> None:
    reply = TransactionReply.of(
        _deposit(
            _change(Status.PROVIDER_CONFIRMED),
            _change(Status.CREDITED, MoneyEffect.CREDIT, "10.00"),
            _change(Status.REFUNDED, MoneyEffect.REVERSAL, "10.00"),
            _change(Status.REFUNDED, MoneyEffect.TOTAL_SEEN, "0"),
        )
    )
    assert [(c.status, c.money_effect) for c in reply.history] == [
        (2, None),
        (3, MoneyEffect.CREDIT),
        (7, MoneyEffect.REVERSAL),
    ]


def test_a_running_total_that_came_with_a_change_of_status_is_shown() -> None:
    reply = TransactionReply.of(
        _deposit(
            _change(Status.PROVIDER_CONFIRMED),
            _change(Status.REFUNDED, MoneyEffect.TOTAL_SEEN, "0"),
        )
    )
    assert [c.status for c in reply.history] == [2, 7]
