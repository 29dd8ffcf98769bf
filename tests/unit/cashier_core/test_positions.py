"""positions.deposit_money and the reversal rules of lifecycle.decide, over
sequences: any run of provider reports (refunds, chargebacks, reinstatements,
partial, whole, repeated, in other currencies), credit attempts and operator
actions, applied as storage would, keeps the ledger and the position one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cashier_core.lifecycle import (
    CreditAttempt,
    Move,
    OperatorAction,
    OperatorActionKind,
    PaymentStarted,
    ProviderEffect,
    ProviderReport,
    Signal,
    decide,
)
from cashier_core.models import LedgerKind, MoneyEffect, StatusChange, Transaction
from cashier_core.positions import deposit_money
from cashier_core.statuses import PublicReason, Status, TransactionType

T0 = datetime(2026, 12, 1, tzinfo=UTC)
AMOUNT = Decimal("100.00")


def new_deposit() -> Transaction:
    return Transaction(
        transaction_id="txn-p",
        type=TransactionType.DEPOSIT,
        customer_id="cus",
        account_id="acc",
        brand_id="b",
        method_id="card",
        provider="sandbox",
        amount=AMOUNT,
        currency="USD",
        status=Status.CREATED,
        created_at=T0,
        updated_at=T0,
        history=(StatusChange(status=Status.CREATED, at=T0, reason="", source="customer"),),
        version=1,
    )


def write(transaction: Transaction, move: Move) -> Transaction:
    assert move.target is not None
    money = move.money
    change = StatusChange(
        status=move.target,
        at=T0,
        reason=move.note,
        source="test",
        code=move.code,
        money_effect=money.effect if money else None,
        money_amount=money.amount if money else None,
        money_reference=money.reference if money else None,
        money_returns=money.returns if money else None,
        money_to_source=money.to_source if money else None,
        money_before_credit=money.before_credit if money else None,
    )
    return transaction.model_copy(
        update={
            "status": move.target,
            "history": (*transaction.history, change),
            "version": transaction.version + 1,
        }
    )


EFFECTS = [
    ProviderEffect.CONFIRMED,
    ProviderEffect.REFUND,
    ProviderEffect.CHARGEBACK,
    ProviderEffect.REINSTATED,
    ProviderEffect.DISPUTE_NOTICE,
]
AMOUNTS = [None, "0.01", "10.00", "30.00", "70.00", "100.00", "130.00"]

reports = st.builds(
    ProviderReport,
    provider=st.just("sandbox"),
    effect=st.sampled_from(EFFECTS),
    raw_status=st.just("raw"),
    amount=st.sampled_from(AMOUNTS).map(lambda a: Decimal(a) if a else None),
    currency=st.sampled_from(["USD", "USD", "USD", "EUR"]),
    movement_reference=st.one_of(st.none(), st.sampled_from(["m1", "m2", "m3", "m4"])),
    cumulative=st.booleans(),
)
signals: st.SearchStrategy[Signal] = st.one_of(
    reports,
    st.just(CreditAttempt()),
    st.just(PaymentStarted("sandbox", Status.PENDING_PAYMENT, "ref")),
    st.sampled_from(
        [
            OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT),
            OperatorAction(OperatorActionKind.REJECT_REVIEWED_DEPOSIT),
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(signals, max_size=25))
def test_any_sequence_keeps_the_ledger_and_the_position_one(sequence: list[Signal]) -> None:
    deposit = new_deposit()
    ledger = Decimal(0)  # what this deposit's entries add to the account
    entry_ids: set[str] = set()
    for signal in sequence:
        move = decide(deposit, signal)
        if not move.writes:
            continue
        if move.ledger is not None:
            assert move.ledger.kind in (LedgerKind.CREDIT, LedgerKind.REVERSAL)
            entry = move.ledger.entry_id
            assert entry is not None
            assert entry not in entry_ids, "a movement's entry id is never reused"
            entry_ids.add(entry)
            ledger += move.ledger.amount * move.ledger.kind.sign
        deposit = write(deposit, move)
        money = deposit_money(deposit)
        assert money.on_account == ledger
        assert money.on_account >= 0
        assert money.credited <= AMOUNT + money.reinstated
        assert money.reinstated <= money.taken_back
        # Only a credited (or reviewed) deposit holds money; a final one holds none.
        if deposit.status in (Status.REFUNDED, Status.CHARGEBACK, Status.FAILED):
            assert money.on_account == 0


def credited() -> Transaction:
    deposit = new_deposit()
    for signal in (
        PaymentStarted("sandbox", Status.PENDING_PAYMENT, "ref"),
        ProviderReport("sandbox", ProviderEffect.CONFIRMED, "ok", AMOUNT, "USD"),
        CreditAttempt(),
    ):
        deposit = write(deposit, decide(deposit, signal))
    assert deposit.status is Status.CREDITED
    return deposit


def refund(amount: str, reference: str | None, *, cumulative: bool = False) -> ProviderReport:
    return ProviderReport(
        "sandbox",
        ProviderEffect.REFUND,
        "refund",
        Decimal(amount),
        "USD",
        movement_reference=reference,
        cumulative=cumulative,
    )


def test_a_partial_refund_keeps_the_deposit_credited_with_the_amount_shown() -> None:
    move = decide(credited(), refund("30.00", "r1"))
    assert (move.target, move.code) == (Status.CREDITED, PublicReason.PARTIALLY_REFUNDED)
    assert move.ledger is not None
    assert (move.ledger.amount, move.ledger.entry_id) == (Decimal("30.00"), "txn-p#reversal#r1")


def test_the_same_movement_reported_again_is_already_recorded() -> None:
    once = write(credited(), decide(credited(), refund("30.00", "r1")))
    assert decide(once, refund("30.00", "r1")).outcome.value == "already"


def test_a_running_total_reverses_only_what_it_adds_and_an_older_one_nothing() -> None:
    deposit = credited()
    deposit = write(deposit, decide(deposit, refund("30.00", None, cumulative=True)))
    move = decide(deposit, refund("100.00", None, cumulative=True))
    assert move.ledger is not None
    assert (move.ledger.amount, move.target) == (Decimal("70.00"), Status.REFUNDED)
    deposit = write(deposit, move)
    assert decide(deposit, refund("30.00", None, cumulative=True)).outcome.value == "already"


def test_more_than_is_left_reverses_what_is_left_and_asks_a_person() -> None:
    deposit = write(credited(), decide(credited(), refund("80.00", "r1")))
    move = decide(deposit, refund("50.00", "r2"))
    assert move.ledger is not None
    assert (move.ledger.amount, move.target, move.needs_person) == (
        Decimal("20.00"),
        Status.MANUAL_REVIEW,
        True,
    )


def test_money_that_came_back_is_recredited_by_a_person_exactly() -> None:
    deposit = credited()
    chargeback = ProviderReport(
        "sandbox", ProviderEffect.CHARGEBACK, "cb", Decimal("40.00"), "USD", movement_reference="d"
    )
    deposit = write(deposit, decide(deposit, chargeback))
    won = ProviderReport(
        "sandbox",
        ProviderEffect.REINSTATED,
        "won",
        Decimal("40.00"),
        "USD",
        movement_reference="d:won",
        reinstates="d",
    )
    deposit = write(deposit, decide(deposit, won))
    assert deposit.status is Status.MANUAL_REVIEW
    assert deposit.history[-1].money_effect is MoneyEffect.REINSTATED
    reject = decide(deposit, OperatorAction(OperatorActionKind.REJECT_REVIEWED_DEPOSIT))
    assert reject.outcome.value == "refuse"  # 60.00 is still on the account
    deposit = write(
        deposit, decide(deposit, OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT))
    )
    credit = decide(deposit, CreditAttempt())
    assert credit.ledger is not None
    assert (credit.ledger.amount, credit.ledger.entry_id) == (Decimal("40.00"), "txn-p#credit#2")


def test_a_reinstatement_naming_a_movement_never_recorded_returns_nothing() -> None:
    won = ProviderReport(
        "sandbox",
        ProviderEffect.REINSTATED,
        "won",
        Decimal("40.00"),
        "USD",
        movement_reference="x:won",
        reinstates="x",
    )
    refunded = write(credited(), decide(credited(), refund("30.00", "r1")))
    assert decide(refunded, won).outcome.value == "record"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["0.01", "30.00", "100.00"]),
    st.lists(
        st.one_of(
            reports,
            st.just(CreditAttempt()),
            st.just(OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT)),
        ),
        max_size=20,
    ),
)
def test_a_routed_deposit_never_gives_the_account_back_what_a_payout_took(
    routed: str, sequence: list[Signal]
) -> None:
    """A credited deposit an approved withdrawal routed money back to (its hold
    took that from the account): whatever the provider reports after, what is
    reversed from the account leaves the routed part alone, and only refunds
    up to the route count as its return."""
    deposit = credited().model_copy(update={"payout_returns": {"wd-1": routed}})
    ledger = AMOUNT
    for signal in sequence:
        move = decide(deposit, signal)
        if not move.writes:
            continue
        if move.ledger is not None:
            ledger += move.ledger.amount * move.ledger.kind.sign
        if move.money is not None and move.money.effect is MoneyEffect.RETURNED_TO_SOURCE:
            assert move.ledger is None
        deposit = write(deposit, move)
        money = deposit_money(deposit)
        assert money.on_account == ledger
        assert money.on_account >= Decimal(routed), "a reversal took what the payout took"
        assert money.returned_to_source <= Decimal(routed)


def test_a_refund_of_exactly_the_route_is_the_payout_and_moves_nothing() -> None:
    deposit = credited().model_copy(update={"payout_returns": {"wd-1": "30.00"}})
    move = decide(deposit, refund("30.00", "r1"))
    assert move.ledger is None
    assert move.money is not None
    assert (move.money.effect, move.money.amount) == (
        MoneyEffect.RETURNED_TO_SOURCE,
        Decimal("30.00"),
    )
    assert (move.target, move.code) == (Status.CREDITED, PublicReason.PARTIALLY_REFUNDED)
    deposit = write(deposit, move)
    assert decide(deposit, refund("30.00", "r1")).outcome.value == "already"
    # A second refund is a refund: the route awaits nothing more.
    again = decide(deposit, refund("30.00", "r2"))
    assert again.ledger is not None
    assert again.ledger.amount == Decimal("30.00")


def test_a_running_total_beyond_the_route_reverses_only_the_rest() -> None:
    deposit = credited().model_copy(update={"payout_returns": {"wd-1": "30.00"}})
    move = decide(deposit, refund("100.00", None, cumulative=True))
    assert move.ledger is not None and move.money is not None
    assert (move.ledger.amount, move.money.to_source, move.target) == (
        Decimal("70.00"),
        Decimal("30.00"),
        Status.REFUNDED,
    )
    deposit = write(deposit, move)
    assert decide(deposit, refund("100.00", None, cumulative=True)).outcome.value == "already"


def test_a_second_chargeback_before_the_recredit_takes_from_what_waits_not_twice() -> None:
    """40.00 charged back (reversed), then won (40.00 waits to be re-credited);
    a second chargeback of all 100.00 before a person credits: 60.00 is
    reversed from the account and 40.00 from what waits, so nothing is owed."""
    deposit = credited()
    first = ProviderReport(
        "sandbox", ProviderEffect.CHARGEBACK, "cb", Decimal("40.00"), "USD", movement_reference="c1"
    )
    deposit = write(deposit, decide(deposit, first))
    won = ProviderReport(
        "sandbox", ProviderEffect.REINSTATED, "won", Decimal("40.00"), "USD",
        movement_reference="w1", reinstates="c1",
    )  # fmt: skip
    deposit = write(deposit, decide(deposit, won))
    assert deposit_money(deposit).to_credit == Decimal("40.00")
    second = ProviderReport(
        "sandbox", ProviderEffect.CHARGEBACK, "cb2", AMOUNT, "USD", movement_reference="c2"
    )
    move = decide(deposit, second)
    assert move.ledger is not None and move.money is not None
    assert (move.ledger.amount, move.money.before_credit) == (Decimal("60.00"), Decimal("40.00"))
    assert (move.target, move.needs_person) == (Status.CHARGEBACK, False)
    deposit = write(deposit, move)
    assert deposit_money(deposit).to_credit == 0
