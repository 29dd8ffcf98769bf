"""Reproducers from the adversarial review of issue 12, kept as regression tests:
pure reproducers against lifecycle.decide, with a tiny executor that applies
each Move as storage would (status_update + after) and keeps the ledger sum."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from cashier_core.lifecycle import (
    CreditAttempt,
    OperatorAction,
    OperatorActionKind,
    Outcome,
    ProviderEffect,
    ProviderReport,
    decide,
)
from cashier_core.models import LedgerKind, StatusChange, Transaction
from cashier_core.positions import deposit_money
from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.conditions import after, status_update

S = Status
E = ProviderEffect
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class World:
    def __init__(
        self,
        status: Status = S.PROVIDER_CONFIRMED,
        amount: str = "100.00",
        history: tuple[StatusChange, ...] | None = None,
        provider: str = "stripe",
    ) -> None:
        self.tx = Transaction(
            transaction_id="txn-1", type=TransactionType.DEPOSIT, customer_id="cus-a",
            account_id="acc-a", brand_id="brand-alpha", method_id="card", provider=provider,
            amount=Decimal(amount), currency="USD", status=status, created_at=T0, updated_at=T0,
            history=history or (StatusChange(status=status, at=T0, reason="setup", source="t"),),
            version=1,
        )  # fmt: skip
        self.ledger = Decimal(0)
        self.entry_ids: set[str] = set()

    def send(self, signal: object) -> object:
        move = decide(self.tx, signal)  # type: ignore[arg-type]
        if move.outcome is Outcome.APPLY:
            if move.ledger is not None:
                entry = move.ledger.entry_id or "fallback"
                assert entry not in self.entry_ids, f"ledger id collision {entry}"
                self.entry_ids.add(entry)
                sign = 1 if move.ledger.kind is LedgerKind.CREDIT else -1
                self.ledger += sign * move.ledger.amount
            self.tx = after(self.tx, status_update(self.tx, move, source="t", at=T0), move)
        return move

    def credit(self) -> None:
        self.send(CreditAttempt())

    def operator_credit(self) -> None:
        self.send(OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT, note="ok"))
        self.credit()


def report(
    effect: E,
    amount: str | None,
    *,
    currency: str | None = "USD",
    ref: str | None = None,
    cumulative: bool = False,
    reinstates: str | None = None,
    raw: str = "x",
    provider: str = "stripe",
) -> ProviderReport:
    return ProviderReport(
        provider=provider, effect=effect, raw_status=raw,
        amount=Decimal(amount) if amount is not None else None,
        currency=currency if amount is not None else None,
        movement_reference=ref, cumulative=cumulative, reinstates=reinstates,
    )  # fmt: skip


def test_stripe_failed_refund_never_recorded_does_not_reinstate_a_dispute() -> None:
    """Stripe refunds carry no `reinstates` link: refund.failed for a refund that
    was never recorded as a reversal returns money taken by a DISPUTE instead."""
    w = World()
    w.credit()
    assert w.ledger == 100
    w.send(
        report(E.CHARGEBACK, "100.00", ref="dp_1:withdrawn", raw="charge.dispute.funds_withdrawn")
    )
    assert (w.tx.status, w.ledger) == (S.CHARGEBACK, 0)
    # A refund re_9 that never reached us as charge.refunded fails.
    w.send(report(E.REFUND_FAILED, "30.00", ref="re_9:failed", raw="refund.failed"))
    w.operator_credit()
    # Expected: the dispute (still open / lost) keeps its 100; nothing came back.
    assert w.ledger == 0, f"re-credited {w.ledger} that the dispute took"


def test_reinstatement_with_unreadable_amount_records_everything_taken_back() -> None:
    """A reinstatement whose amount is another currency (or zero) records the
    WHOLE reinstatable amount as owed; the person's one credit path credits it."""
    w = World()
    w.credit()
    w.send(
        report(E.REFUND, "10.00", ref="refunds-to:10.00", cumulative=True, raw="charge.refunded")
    )
    w.send(report(E.CHARGEBACK, "90.00", ref="dp_1:withdrawn"))
    assert w.ledger == 0
    # refund re_1 (10.00) fails, reported with an amount we cannot read
    move = w.send(report(E.REINSTATED, "10.00", currency="EUR", ref="re_1:failed"))
    recorded = w.tx.history[-1].money_amount
    w.operator_credit()
    assert w.ledger <= 10, f"{move.note!r}; recorded {recorded}; re-credited {w.ledger}"


def test_legacy_chargeback_before_credit_then_reversed_is_not_silently_dropped() -> None:
    """History written before this change: provider_confirmed -> chargeback (no
    money fields). The chargeback is then reversed: the money is ours again."""
    h = (
        StatusChange(status=S.PENDING_PAYMENT, at=T0, reason="legacy", source="t"),
        StatusChange(status=S.PROVIDER_CONFIRMED, at=T0, reason="legacy", source="t"),
        StatusChange(status=S.CHARGEBACK, at=T0, reason="legacy", source="t"),
    )
    w = World(status=S.CHARGEBACK, history=h, provider="adyen")
    move = w.send(report(E.REINSTATED, "100.00", ref="D1:CHARGEBACK_REVERSED",
                         reinstates="D1:CHARGEBACK", provider="adyen"))  # fmt: skip
    assert move.outcome is Outcome.APPLY or move.needs_person, (  # type: ignore[attr-defined]
        f"money back at the provider, outcome {move.outcome} needs_person="  # type: ignore[attr-defined]
        f"{move.needs_person}: {move.note}"  # type: ignore[attr-defined]
    )


def test_huge_refund_amount_does_not_crash_decide() -> None:
    w = World()
    w.credit()
    w.send(report(E.REFUND, "1E+30", ref="r2"))
    w.send(report(E.REFUND, "-5", ref="r3"))
    w.send(report(E.REFUND, "0", ref="r4"))
    assert w.ledger >= 0
    assert w.ledger == deposit_money(w.tx).on_account


def test_cumulative_totals_down_then_up_reverse_the_delta_once() -> None:
    w = World()
    w.credit()
    w.send(report(E.REFUND, "50.00", ref="refunds-to:50.00", cumulative=True))
    w.send(report(E.REFUND, "30.00", ref="refunds-to:30.00", cumulative=True))  # late, older
    w.send(report(E.REFUND, "60.00", ref="refunds-to:60.00", cumulative=True))
    w.send(report(E.REFUND, "60.00", ref="refunds-to:60.00", cumulative=True))  # repeat
    assert w.ledger == 40


def test_second_reinstatement_of_the_same_dispute_and_recredit_are_capped() -> None:
    w = World()
    w.credit()
    w.send(report(E.CHARGEBACK, "40.00", ref="dp:withdrawn"))
    w.send(report(E.REINSTATED, "40.00", ref="dp:reinstated", reinstates="dp:withdrawn"))
    w.send(report(E.REINSTATED, "40.00", ref="dp:reinstated", reinstates="dp:withdrawn"))
    w.operator_credit()
    w.operator_credit()
    w.credit()
    assert w.ledger == 100


def test_refund_during_review_then_operator_credit() -> None:
    """manual_review after a won dispute; a refund arrives; the person credits."""
    w = World()
    w.credit()
    w.send(report(E.CHARGEBACK, "100.00", ref="dp:withdrawn"))
    w.send(report(E.REINSTATED, "100.00", ref="dp:reinstated", reinstates="dp:withdrawn"))
    w.send(report(E.REFUND, "30.00", ref="refunds-to:30.00", cumulative=True))
    w.operator_credit()
    assert w.ledger == 70


def test_won_dispute_recredits_at_most_what_its_withdrawal_took() -> None:
    """Stripe variant of the integration finding: the dispute's withdrawal was
    capped at what was left (20 after an 80 refund); winning it returns 100."""
    w = World()
    w.credit()
    w.send(report(E.REFUND, "80.00", ref="refunds-to:80.00", cumulative=True))
    w.send(report(E.CHARGEBACK, "100.00", ref="dp:withdrawn"))
    assert w.ledger == 0
    w.send(report(E.REINSTATED, "100.00", ref="dp:reinstated", reinstates="dp:withdrawn"))
    w.operator_credit()
    assert w.ledger == 20, f"re-credited {w.ledger}; the 80 refund went to the customer"


def test_partial_refund_before_credit_then_operator_credit_owes_the_rest() -> None:
    w = World()
    w.send(report(E.REFUND, "30.00", ref="refunds-to:30.00", cumulative=True))
    assert w.tx.status is S.MANUAL_REVIEW
    w.operator_credit()
    w.credit()
    assert w.ledger == 70


def test_legacy_credited_then_refunded_then_reinstated_uses_fresh_ledger_ids() -> None:
    h = (
        StatusChange(status=S.PROVIDER_CONFIRMED, at=T0, reason="legacy", source="t"),
        StatusChange(status=S.CREDITED, at=T0, reason="legacy", source="t"),
        StatusChange(status=S.REFUNDED, at=T0, reason="legacy", source="t"),
    )
    w = World(status=S.REFUNDED, history=h, provider="adyen")
    w.entry_ids |= {"txn-1#credit", "txn-1#reversal"}  # what the old code wrote
    w.send(report(E.REINSTATED, "100.00", ref="R:REFUND_FAILED", provider="adyen"))
    w.operator_credit()
    assert w.ledger == 100
    w.send(report(E.REFUND, "40.00", ref=None, provider="adyen"))  # no reference: counter id
    assert w.ledger == 60


def test_legacy_credited_partial_refund_then_full_chargeback() -> None:
    h = (
        StatusChange(status=S.PROVIDER_CONFIRMED, at=T0, reason="legacy", source="t"),
        StatusChange(status=S.CREDITED, at=T0, reason="legacy", source="t"),
    )
    w = World(status=S.CREDITED, history=h)
    w.ledger = Decimal(100)
    w.send(report(E.REFUND, "30.00", ref="refunds-to:30.00", cumulative=True))
    w.send(report(E.CHARGEBACK, "70.00", ref="dp:withdrawn"))
    assert (w.tx.status, w.ledger) == (S.CHARGEBACK, 0)
