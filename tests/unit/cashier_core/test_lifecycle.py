"""lifecycle.decide, the one pure decision: every (type, status, signal kind) of
both types with hypothesis-drawn amounts, currencies, targets and texts, and the
defects of issue 11 that are decided here, one named example each."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashier_core.lifecycle import (
    CreditAttempt,
    CreditRefused,
    CustomerCancel,
    JanitorFinding,
    JanitorGaveUp,
    LedgerMovement,
    Move,
    OperatorAction,
    OperatorActionKind,
    Outcome,
    PaymentNotStarted,
    PaymentStarted,
    ProviderEffect,
    ProviderReport,
    Signal,
    SweepCheck,
    decide,
)
from cashier_core.models import LedgerKind, MoneyEffect, StatusChange, Transaction
from cashier_core.positions import DepositMoney, deposit_money
from cashier_core.statuses import (
    OPERATOR_ONLY,
    PublicReason,
    Status,
    TransactionType,
    can_transition,
)

S = Status
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "JPY")
PROVIDERS = ("sandbox", "adyen", "stripe", "bank_wire")
PRINCIPALS = ("arn:ops-alice", "arn:ops-bob")


# --- strategies --------------------------------------------------------------------
def amounts(currency: str) -> st.SearchStrategy[Decimal]:
    places = 0 if currency == "JPY" else 2
    return st.decimals(
        min_value=Decimal(1).scaleb(-places),
        max_value=Decimal("1000000"),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


@st.composite
def transactions(draw: st.DrawFn, transaction_type: TransactionType, status: Status) -> Transaction:
    currency = draw(st.sampled_from(CURRENCIES))
    earlier = draw(st.lists(st.sampled_from(Status), max_size=3))
    history = tuple(
        StatusChange(status=s, at=T0, reason="earlier", source="test") for s in [*earlier, status]
    )
    return Transaction(
        transaction_id=draw(st.uuids()).hex,
        type=transaction_type,
        customer_id="cus-alice",
        account_id="acc-alice",
        brand_id="brand-alpha",
        method_id=draw(st.sampled_from(["card-sandbox", None])),
        provider=draw(st.sampled_from([*PROVIDERS, None])),
        amount=draw(amounts(currency)),
        currency=currency,
        status=status,
        created_at=T0,
        updated_at=T0,
        history=history,
        version=draw(st.integers(min_value=1, max_value=50)),
        first_approved_by=draw(st.sampled_from([None, *PRINCIPALS])),
    )


def reported_money(
    transaction: Transaction,
) -> st.SearchStrategy[tuple[Decimal | None, str | None]]:
    """The deposit's own money (often), other money, or missing parts of it."""
    own = st.just((transaction.amount, transaction.currency))
    # Other money is mostly the deposit's currency with another amount (or the
    # same amount in another currency), the cases a provider really sends.
    currency = st.sampled_from([*CURRENCIES, "XXX", "usd"])
    other = currency.flatmap(
        lambda c: st.tuples(amounts(c if c in CURRENCIES else "USD"), st.just(c))
    )
    missing = st.tuples(
        st.one_of(st.none(), st.just(transaction.amount)),
        st.one_of(st.none(), st.just(transaction.currency)),
    ).filter(lambda pair: None in pair)
    same_currency = amounts(transaction.currency).map(lambda a: (a, transaction.currency))
    return st.one_of(own, other, same_currency, missing)


TEXT = st.text(max_size=40)


def signals(kind: Any, transaction: Transaction) -> st.SearchStrategy[Signal]:  # noqa: PLR0911
    """Arbitrary signals of one kind (an OperatorActionKind, or a signal class)."""
    if isinstance(kind, OperatorActionKind):
        return reported_money(transaction).flatmap(
            lambda money: st.builds(
                OperatorAction,
                kind=st.just(kind),
                note=TEXT,
                payout_reference=st.one_of(st.none(), TEXT),
                amount=st.just(money[0]),
                currency=st.just(money[1]),
                principal=st.sampled_from(PRINCIPALS),
                second_approval_over=st.one_of(
                    st.none(),
                    st.just(transaction.amount),
                    amounts(transaction.currency).map(lambda a: a - a),
                    amounts(transaction.currency),
                ),
            )
        )
    if isinstance(kind, ReportOf):
        own = transaction.provider or "sandbox"
        return reported_money(transaction).flatmap(
            lambda money: st.builds(
                ProviderReport,
                # Mostly the deposit's own provider: another's is only ever ignored.
                provider=st.one_of(st.just(own), st.just(own), st.sampled_from(PROVIDERS)),
                effect=st.just(kind.effect),
                raw_status=TEXT,
                amount=st.just(money[0]),
                currency=st.just(money[1]),
                reports_amounts=st.booleans(),
                new_reference=st.one_of(st.none(), TEXT),
                movement_reference=st.one_of(st.none(), st.sampled_from(["m-1", "m-2"])),
                cumulative=st.booleans(),
                reinstates=st.one_of(st.none(), st.just("m-1")),
            )
        )
    if kind is PaymentStarted:
        return st.builds(
            PaymentStarted,
            provider=st.sampled_from(PROVIDERS),
            status=st.sampled_from(Status),
            provider_reference=TEXT,
            redirect_url=st.one_of(st.none(), TEXT),
            instructions=st.one_of(st.none(), st.dictionaries(TEXT, TEXT, max_size=2)),
        )
    if kind is PaymentNotStarted:
        return st.builds(
            PaymentNotStarted,
            provider=st.sampled_from(PROVIDERS),
            error_code=TEXT,
            error_message=TEXT,
        )
    if kind is JanitorGaveUp:
        return st.builds(JanitorGaveUp, finding=st.sampled_from(JanitorFinding), detail=TEXT)
    if kind is CreditRefused:
        return st.builds(CreditRefused, error_code=TEXT, error_message=TEXT)
    return st.just(kind())  # CreditAttempt, SweepCheck: no fields


@dataclass(frozen=True)
class ReportOf:
    """A ProviderReport's kind is its effect: each is a kind of its own here."""

    effect: ProviderEffect


SIGNAL_KINDS: list[Any] = [
    *(ReportOf(effect) for effect in ProviderEffect),
    PaymentStarted,
    PaymentNotStarted,
    JanitorGaveUp,
    *OperatorActionKind,
    CreditAttempt,
    CreditRefused,
    SweepCheck,
    CustomerCancel,
]


def _name(kind: Any) -> str:
    if isinstance(kind, TransactionType):
        return kind.value
    if isinstance(kind, ReportOf):
        return f"report-{kind.effect.value}"
    return kind.value if isinstance(kind, OperatorActionKind) else str(kind.__name__)


# --- the properties every Move has ----------------------------------------------------
def check_move(transaction: Transaction, signal: Signal, move: Move) -> None:  # noqa: PLR0912
    status, kind = transaction.status, transaction.type
    deposit = kind is TransactionType.DEPOSIT
    by_operator = isinstance(signal, OperatorAction)
    customer_cancel = isinstance(signal, CustomerCancel)

    if move.writes:
        assert move.target is not None
        assert can_transition(kind, status, move.target), (status, move.target)
        assert move.sources == frozenset({status})
        assert by_operator or (status, move.target) not in OPERATOR_ONLY[kind]
        assert isinstance(move.code, PublicReason)
        # Only BackOffice moves a withdrawal, or its customer cancels it.
        assert deposit or by_operator or customer_cancel
    else:
        assert move.ledger is None
        assert move.code is None

    if move.enqueue:  # only a deposit waiting in provider_confirmed goes to the credit worker
        assert deposit
        after = move.target if move.writes else status
        assert after is S.PROVIDER_CONFIRMED
    if isinstance(signal, SweepCheck):
        assert not move.writes
        assert move.enqueue == (deposit and status is S.PROVIDER_CONFIRMED)

    money = deposit_money(transaction) if deposit else None
    if move.ledger is not None:
        assert move.ledger.amount > 0
        match move.ledger.kind:
            case LedgerKind.CREDIT:
                assert deposit
                assert money is not None
                assert isinstance(signal, CreditAttempt)
                assert (status, move.target) == (S.PROVIDER_CONFIRMED, S.CREDITED)
                # What is owed now, never more than the deposit and what came back.
                assert move.ledger.amount == money.to_credit
                assert move.ledger.amount <= transaction.amount + money.reinstated
            case LedgerKind.REVERSAL:
                assert deposit
                assert money is not None
                assert isinstance(signal, ProviderReport)
                # Never more than this deposit still has on the account.
                assert move.ledger.amount <= money.on_account
                assert move.target in (S.REFUNDED, S.CHARGEBACK, S.CREDITED, S.MANUAL_REVIEW)
            case LedgerKind.HOLD_RELEASE:
                assert not deposit
                assert by_operator or customer_cancel
                assert move.ledger.amount == transaction.amount
                assert move.target in move.ledger.kind.enters
            case _:
                pytest.fail(f"decide never moves {move.ledger.kind}")
        if move.ledger.kind in (LedgerKind.CREDIT, LedgerKind.REVERSAL):
            assert move.money is not None
            assert move.money.amount == move.ledger.amount
    if money is not None and move.writes and _sound(money):
        # From a sound position (drawn histories may be ones the table never
        # allows), a move keeps it sound: what the deposit holds is never
        # negative, never more than it owes, and nothing returns that was not taken.
        assert _sound(deposit_money(written(transaction, move)))
    if deposit and move.writes and move.target is S.CREDITED and status is not S.CREDITED:
        assert isinstance(signal, CreditAttempt)
        assert money is not None
        if money.to_credit > 0:
            assert move.ledger is not None
            assert move.ledger.kind is LedgerKind.CREDIT
        else:
            assert move.ledger is None
    if move.writes and move.target in (S.REFUNDED, S.CHARGEBACK):
        # Only a deposit with money on the account has money to take back.
        assert money is not None
        assert (move.ledger is not None) == (money.on_account > 0)

    confirms = move.writes and move.target is S.PROVIDER_CONFIRMED
    if isinstance(signal, ProviderReport):
        if not deposit or signal.provider != transaction.provider:
            assert move.outcome is Outcome.IGNORE
        if signal.effect is ProviderEffect.CONFIRMED:
            # A late success never reopens money that moved on.
            if status in (S.CREDIT_FAILED, S.REFUNDED, S.CHARGEBACK):
                assert not move.writes
            missing = signal.amount is None or signal.currency is None
            if missing and signal.reports_amounts:
                assert not confirms
            if not missing and (signal.amount, signal.currency) != (
                transaction.amount,
                transaction.currency,
            ):
                assert not confirms
        if move.writes and move.target is S.CREDITED:
            # Only a partial reversal keeps a deposit credited; none credits.
            assert status is S.CREDITED
            assert move.ledger is not None
            assert move.ledger.kind is LedgerKind.REVERSAL
    if move.writes and move.target is status and not deposit:
        # Only a withdrawal's first of two approvals stays where it is, and only once.
        assert isinstance(signal, OperatorAction)
        assert signal.kind is OperatorActionKind.APPROVE_WITHDRAWAL
        assert (kind, status) == (TransactionType.WITHDRAWAL, S.MANUAL_REVIEW)
        assert transaction.first_approved_by is None
        assert move.set_fields["first_approved_by"] == signal.principal
        assert set(move.set_fields) <= {"first_approved_by", "payout_route", "provider_reference"}
        assert move.route_shares == ()  # a first approval reserves no deposit's money
        assert signal.second_approval_over is not None
        assert transaction.amount > signal.second_approval_over
    if (
        isinstance(signal, OperatorAction)
        and signal.kind is OperatorActionKind.APPROVE_WITHDRAWAL
        and confirms
        and signal.second_approval_over is not None
        and transaction.amount > signal.second_approval_over
    ):
        # Four eyes: completed only by a principal other than the first approver.
        assert transaction.first_approved_by not in (None, signal.principal)
    if customer_cancel:
        if deposit:
            assert move.outcome is Outcome.IGNORE
        if move.writes:
            # Only a withdrawal nobody has acted on, and the hold always comes back.
            assert (status, move.target) == (S.MANUAL_REVIEW, S.CANCELLED)
            assert move.ledger == LedgerMovement(LedgerKind.HOLD_RELEASE, transaction.amount)
            assert move.code is PublicReason.WITHDRAWAL_CANCELLED
    if (
        isinstance(signal, OperatorAction)
        and signal.kind is OperatorActionKind.CONFIRM_BANK_WIRE
        and confirms
    ):
        assert (signal.amount, signal.currency) == (transaction.amount, transaction.currency)
        assert status is S.PENDING_PAYMENT


def _sound(money: DepositMoney) -> bool:
    return (
        money.on_account >= 0
        and money.credited <= money.amount + money.reinstated
        and money.reinstated <= money.taken_back
    )


def written(transaction: Transaction, move: Move) -> Transaction:
    """The transaction as storage writes `move` (the history entry with its money)."""
    assert move.target is not None
    change = StatusChange(
        status=move.target,
        at=T0,
        reason=move.note,
        source="test",
        code=move.code,
        money_effect=move.money.effect if move.money else None,
        money_amount=move.money.amount if move.money else None,
        money_reference=move.money.reference if move.money else None,
        money_returns=move.money.returns if move.money else None,
    )
    return transaction.model_copy(
        update={"status": move.target, "history": (*transaction.history, change)}
    )


MONEY_VARIANTS = (
    "own",
    "more",
    "less",
    "other currency",
    "unknown currency",
    "no amount",
    "no currency",
    "none",
)


def money_variant(transaction: Transaction, variant: str) -> tuple[Decimal | None, str | None]:
    amount, currency = transaction.amount, transaction.currency
    other = "EUR" if currency != "EUR" else "USD"
    return {
        "own": (amount, currency),
        "more": (amount + 1, currency),
        "less": (amount - Decimal("0.01") if amount > Decimal("0.01") else amount + 2, currency),
        "other currency": (amount, other),
        "unknown currency": (amount, "XXX"),
        "no amount": (None, currency),
        "no currency": (amount, None),
        "none": (None, None),
    }[variant]


def catalogue(kind: Any, transaction: Transaction) -> list[Signal]:  # noqa: PLR0911
    """A fixed set of signals of one kind: every target, provider (own or
    another), money variant and amount declaration; every janitor finding."""
    own = transaction.provider or "sandbox"
    if isinstance(kind, ReportOf):
        return [
            ProviderReport(
                own if mine else "another",
                kind.effect,
                "raw",
                *money,
                declared,
                ref,
                movement_reference=movement,
                cumulative=cumulative,
            )
            for mine, variant, declared, ref, movement, cumulative in itertools.product(
                (True, False),
                MONEY_VARIANTS,
                (True, False),
                (None, "ref-2"),
                (None, "m-1"),
                (False, True),
            )
            for money in [money_variant(transaction, variant)]
        ]
    if isinstance(kind, OperatorActionKind):
        thresholds = (None, transaction.amount, transaction.amount - transaction.amount)
        return [
            OperatorAction(
                kind, "note", reference, *money_variant(transaction, variant), principal, over
            )
            for variant, reference in itertools.product(MONEY_VARIANTS, (None, "P-1"))
            for principal, over in itertools.product(PRINCIPALS, thresholds)
        ]
    if kind is PaymentStarted:
        return [
            PaymentStarted(own, status, "ref", url, None)
            for status, url in itertools.product(Status, (None, "https://pay.example"))
        ]
    if kind is PaymentNotStarted:
        return [PaymentNotStarted(own, "provider_unavailable", "timed out")]
    if kind is JanitorGaveUp:
        return [JanitorGaveUp(finding, "30 minutes") for finding in JanitorFinding]
    if kind is CreditRefused:
        return [CreditRefused("account_closed", "closed")]
    return [kind()]


@pytest.mark.parametrize(
    ("transaction_type", "status"),
    list(itertools.product(TransactionType, Status)),
    ids=lambda value: value.api_name if isinstance(value, Status) else _name(value),
)
def test_every_signal_kind_from_every_status_keeps_the_rules(
    transaction_type: TransactionType, status: Status
) -> None:
    """Exhaustive: each (type, status, signal kind), over the catalogue's variants."""
    for currency, amount in (("USD", "25.00"), ("JPY", "2500"), ("EUR", "0.01")):
        plain = example(status, transaction_type, amount=amount, currency=currency)
        for first in (None, *PRINCIPALS):
            transaction = plain.model_copy(update={"first_approved_by": first})
            for kind in SIGNAL_KINDS:
                for signal in catalogue(kind, transaction):
                    move = decide(transaction, signal)
                    check_move(transaction, signal, move)
                    assert decide(transaction, signal) == move


@pytest.mark.parametrize(
    ("transaction_type", "status"),
    list(itertools.product(TransactionType, Status)),
    ids=lambda value: value.api_name if isinstance(value, Status) else _name(value),
)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_signal_with_any_money_keeps_the_rules(
    transaction_type: TransactionType, status: Status, data: st.DataObject
) -> None:
    transaction = data.draw(transactions(transaction_type, status), label="transaction")
    kind = data.draw(st.sampled_from(SIGNAL_KINDS), label="kind")
    signal = data.draw(signals(kind, transaction), label="signal")
    move = decide(transaction, signal)
    check_move(transaction, signal, move)
    # Pure: the same input, or an equal copy of it, gives the same Move.
    assert decide(transaction, signal) == move
    assert decide(transaction.model_copy(deep=True), copy.deepcopy(signal)) == move


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_transaction_and_any_signal(data: st.DataObject) -> None:
    """The same properties over freely mixed draws (shrinks across types and statuses)."""
    transaction = data.draw(
        st.sampled_from(TransactionType).flatmap(
            lambda t: st.sampled_from(Status).flatmap(lambda s: transactions(t, s))
        )
    )
    signal = data.draw(st.sampled_from(SIGNAL_KINDS).flatmap(lambda k: signals(k, transaction)))
    move = decide(transaction, signal)
    check_move(transaction, signal, move)
    assert decide(transaction, signal) == move


# --- examples --------------------------------------------------------------------------
def example(
    status: Status,
    transaction_type: TransactionType = TransactionType.DEPOSIT,
    *,
    amount: str = "25.00",
    currency: str = "USD",
    provider: str | None = "sandbox",
) -> Transaction:
    return Transaction(
        transaction_id="txn-1",
        type=transaction_type,
        customer_id="cus-alice",
        account_id="acc-alice",
        brand_id="brand-alpha",
        method_id="card-sandbox",
        provider=provider,
        amount=Decimal(amount),
        currency=currency,
        status=status,
        created_at=T0,
        updated_at=T0,
        history=(StatusChange(status=status, at=T0, reason="setup", source="test"),),
        version=3,
    )


def report(
    said: Status | ProviderEffect,
    amount: str | None = "25.00",
    currency: str | None = "USD",
    **kw: Any,
) -> ProviderReport:
    """A provider's report of a status (its effect) or of an effect."""
    effect = said if isinstance(said, ProviderEffect) else ProviderEffect.of_status(said)
    assert effect is not None, said
    return ProviderReport(
        provider=kw.pop("provider", "sandbox"),
        effect=effect,
        raw_status=kw.pop("raw_status", effect.value),
        amount=Decimal(amount) if amount is not None else None,
        currency=currency,
        **kw,
    )


def act(kind: OperatorActionKind, note: str = "", **kw: Any) -> OperatorAction:
    return OperatorAction(kind, note=note, **kw)


# Issue 11, defect 1: an approved withdrawal went round the credit queue forever.
def test_an_approved_withdrawal_is_never_credited_swept_or_enqueued() -> None:
    approved = example(S.PROVIDER_CONFIRMED, TransactionType.WITHDRAWAL)
    assert decide(approved, SweepCheck()) == Move(Outcome.SKIP, note="sweep", enqueue=False)
    credit = decide(approved, CreditAttempt())
    assert (credit.outcome, credit.ledger, credit.enqueue) == (Outcome.IGNORE, None, False)
    refused = decide(approved, CreditRefused("account_closed", "closed"))
    assert (refused.outcome, refused.enqueue) == (Outcome.IGNORE, False)
    again = decide(approved, act(OperatorActionKind.APPROVE_WITHDRAWAL, payout_reference="P-2"))
    assert (again.outcome, again.enqueue) == (Outcome.ALREADY, False)
    review = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL)
    approval = decide(review, act(OperatorActionKind.APPROVE_WITHDRAWAL, payout_reference="P-1"))
    assert (approval.outcome, approval.target) == (Outcome.APPLY, S.PROVIDER_CONFIRMED)
    assert not approval.enqueue
    assert approval.ledger is None  # the hold stays debited: it is the payout


# Issue 11, defect 2: a provider webhook moved a withdrawal (or raised: a 500).
@pytest.mark.parametrize("status", [S.MANUAL_REVIEW, S.PROVIDER_CONFIRMED, S.CANCELLED, S.FAILED])
@pytest.mark.parametrize("target", list(ProviderEffect))
def test_a_provider_event_naming_a_withdrawal_is_ignored(
    status: Status, target: ProviderEffect
) -> None:
    withdrawal = example(status, TransactionType.WITHDRAWAL)
    for signal in (report(target), report(target, None, None), report(target, "1.00")):
        move = decide(withdrawal, signal)
        assert move == Move(Outcome.IGNORE, note=f"{signal.raw_status} names a withdrawal")


def test_a_provider_event_moves_only_its_own_providers_deposits() -> None:
    pending = example(S.PENDING_PAYMENT, provider="stripe")
    assert decide(pending, report(S.PROVIDER_CONFIRMED)).outcome is Outcome.IGNORE
    assert decide(pending, report(S.FAILED)).outcome is Outcome.IGNORE


# Issue 11, defect 3: a confirmation without a usable amount was credited unreviewed.
@pytest.mark.parametrize(
    ("amount", "currency"),
    [(None, None), (None, "USD"), ("25.00", None)],
    ids=["no-amount", "no-value", "no-currency"],
)
def test_a_confirmation_without_amount_and_currency_goes_to_review(
    amount: str | None, currency: str | None
) -> None:
    for status in (S.CREATED, S.PENDING_PAYMENT):
        move = decide(example(status), report(S.PROVIDER_CONFIRMED, amount, currency))
        assert (move.outcome, move.target, move.code) == (
            Outcome.APPLY,
            S.MANUAL_REVIEW,
            PublicReason.UNDER_REVIEW,
        )
        assert not move.enqueue
        assert "without an amount" in move.note
    again = decide(example(S.MANUAL_REVIEW), report(S.PROVIDER_CONFIRMED, amount, currency))
    assert (again.outcome, again.enqueue) == (Outcome.ALREADY, False)


def test_a_module_that_declares_it_never_reports_amounts_confirms_without_one() -> None:
    move = decide(
        example(S.PENDING_PAYMENT),
        report(S.PROVIDER_CONFIRMED, None, None, reports_amounts=False),
    )
    assert (move.outcome, move.target, move.enqueue) == (Outcome.APPLY, S.PROVIDER_CONFIRMED, True)


@pytest.mark.parametrize(
    ("amount", "currency"), [("25.01", "USD"), ("24.99", "USD"), ("25.00", "EUR"), ("25.00", "XXX")]
)
def test_a_confirmation_of_other_money_goes_to_review(amount: str, currency: str) -> None:
    move = decide(example(S.PENDING_PAYMENT), report(S.PROVIDER_CONFIRMED, amount, currency))
    assert (move.outcome, move.target) == (Outcome.APPLY, S.MANUAL_REVIEW)
    assert f"provider reported {amount} {currency}" in move.note


def test_a_confirmation_of_the_deposits_own_money_is_queued_for_credit() -> None:
    move = decide(example(S.PENDING_PAYMENT), report(S.PROVIDER_CONFIRMED, new_reference="r2"))
    assert (move.outcome, move.target, move.enqueue) == (Outcome.APPLY, S.PROVIDER_CONFIRMED, True)
    assert move.ledger is None  # the credit is the worker's, never the webhook's
    assert move.set_fields == {"provider_reference": "r2"}


# Issue 11, defect 4: the table's holes around manual_review.
@pytest.mark.parametrize("target", [S.FAILED, S.CANCELLED, S.PROVIDER_CONFIRMED])
def test_only_a_person_takes_a_deposit_out_of_review(target: Status) -> None:
    review = example(S.MANUAL_REVIEW)
    assert not decide(review, report(target)).writes
    assert not decide(review, JanitorGaveUp(JanitorFinding.EXPIRED)).writes
    assert not decide(review, CreditAttempt()).writes


def test_a_person_credits_or_rejects_a_reviewed_deposit() -> None:
    review = example(S.MANUAL_REVIEW)
    credit = decide(review, act(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT, "checked"))
    assert (credit.target, credit.enqueue, credit.ledger) == (S.PROVIDER_CONFIRMED, True, None)
    reject = decide(review, act(OperatorActionKind.REJECT_REVIEWED_DEPOSIT, "fraud"))
    assert (reject.target, reject.code, reject.ledger) == (
        S.FAILED,
        PublicReason.REVIEW_DECLINED,
        None,
    )


@pytest.mark.parametrize("target", [S.REFUNDED, S.CHARGEBACK])
def test_a_refund_or_chargeback_during_review_applies_and_blocks_the_credit(
    target: Status,
) -> None:
    move = decide(example(S.MANUAL_REVIEW), report(target))
    assert (move.outcome, move.target, move.ledger) == (Outcome.APPLY, target, None)
    gone = example(target)
    for kind in (
        OperatorActionKind.CREDIT_REVIEWED_DEPOSIT,
        OperatorActionKind.RETRY_FAILED_CREDIT,
    ):
        assert decide(gone, act(kind)).outcome is Outcome.REFUSE
    assert decide(gone, CreditAttempt()).outcome is Outcome.SKIP
    assert not decide(gone, SweepCheck()).enqueue
    # A success that matches changes nothing either.
    assert not decide(gone, report(S.PROVIDER_CONFIRMED)).writes


@pytest.mark.parametrize("status", [S.CHARGEBACK, S.REFUNDED, S.CREDIT_FAILED])
@pytest.mark.parametrize(("amount", "currency"), [("26.00", "USD"), (None, None), ("25.00", "USD")])
def test_a_late_success_never_reopens_a_deposit_whose_money_moved_on(
    status: Status, amount: str | None, currency: str | None
) -> None:
    """Found by these properties (fixed in a60461a): a success with a missing or
    other amount took a charged-back deposit back to manual_review, where a
    person could credit money that had left."""
    move = decide(example(status), report(S.PROVIDER_CONFIRMED, amount, currency))
    assert move.outcome is Outcome.REFUSE
    assert not move.enqueue


def test_a_reversed_chargeback_goes_to_a_person() -> None:
    charged_back = credited_then(S.CHARGEBACK, MoneyEffect.REVERSAL, "25.00")
    reversed_ = decide(
        charged_back, report(ProviderEffect.REINSTATED, raw_status="CHARGEBACK_REVERSED:true")
    )
    assert (reversed_.outcome, reversed_.target, reversed_.ledger) == (
        Outcome.APPLY,
        S.MANUAL_REVIEW,
        None,
    )
    assert reversed_.code is PublicReason.FUNDS_REINSTATED
    assert reversed_.money is not None
    assert reversed_.money.amount == Decimal("25.00")


def credited_then(
    status: Status, effect: MoneyEffect, amount: str, reference: str | None = None
) -> Transaction:
    """A credited deposit, then one change with its money."""
    credited = example(S.CREDITED)
    change = StatusChange(
        status=status,
        at=T0,
        reason="then",
        source="test",
        money_effect=effect,
        money_amount=Decimal(amount),
        money_reference=reference,
    )
    return credited.model_copy(update={"status": status, "history": (*credited.history, change)})


# Issue 11, defect 7: the credit took its money from the queue message.
@pytest.mark.parametrize("amount", ["0.01", "25.00", "999999.00"])
def test_a_credit_is_always_the_stored_deposits_own_amount(amount: str) -> None:
    confirmed = example(S.PROVIDER_CONFIRMED, amount=amount)
    move = decide(confirmed, CreditAttempt())
    assert move.ledger == LedgerMovement(LedgerKind.CREDIT, Decimal(amount), "txn-1#credit")
    assert (move.target, move.sources) == (S.CREDITED, frozenset({S.PROVIDER_CONFIRMED}))
    assert decide(example(S.CREDITED), CreditAttempt()).outcome is Outcome.ALREADY


def test_a_refused_credit_waits_for_a_person() -> None:
    move = decide(example(S.PROVIDER_CONFIRMED), CreditRefused("account_closed", "closed"))
    assert (move.target, move.code, move.ledger) == (
        S.CREDIT_FAILED,
        PublicReason.CREDIT_DELAYED,
        None,
    )
    retry = decide(example(S.CREDIT_FAILED), act(OperatorActionKind.RETRY_FAILED_CREDIT))
    assert (retry.target, retry.enqueue) == (S.PROVIDER_CONFIRMED, True)
    assert not decide(example(S.CREDIT_FAILED), report(S.PROVIDER_CONFIRMED)).writes


# Issue 11, defect 8: operators' words and provider text reached customers.
SECRET_WORDS = "AML: structuring suspected"

PRIVATE_TEXT: list[tuple[Status, TransactionType, Callable[[], Signal]]] = [
    (
        S.MANUAL_REVIEW,
        TransactionType.WITHDRAWAL,
        lambda: act(OperatorActionKind.REJECT_WITHDRAWAL, SECRET_WORDS),
    ),
    (
        S.MANUAL_REVIEW,
        TransactionType.WITHDRAWAL,
        lambda: act(OperatorActionKind.APPROVE_WITHDRAWAL, SECRET_WORDS, payout_reference="P"),
    ),
    (
        S.PROVIDER_CONFIRMED,
        TransactionType.WITHDRAWAL,
        lambda: act(OperatorActionKind.FAIL_PAYOUT, SECRET_WORDS),
    ),
    (
        S.MANUAL_REVIEW,
        TransactionType.DEPOSIT,
        lambda: act(OperatorActionKind.REJECT_REVIEWED_DEPOSIT, SECRET_WORDS),
    ),
    (
        S.MANUAL_REVIEW,
        TransactionType.DEPOSIT,
        lambda: act(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT, SECRET_WORDS),
    ),
    (
        S.CREATED,
        TransactionType.DEPOSIT,
        lambda: PaymentNotStarted("stripe", "provider_unavailable", SECRET_WORDS),
    ),
    (
        S.PROVIDER_CONFIRMED,
        TransactionType.DEPOSIT,
        lambda: CreditRefused("account_closed", SECRET_WORDS),
    ),
    (S.PENDING_PAYMENT, TransactionType.DEPOSIT, lambda: report(S.FAILED, raw_status=SECRET_WORDS)),
]


@pytest.mark.parametrize(("status", "transaction_type", "signal"), PRIVATE_TEXT)
def test_customers_see_a_fixed_code_never_the_words_behind_it(
    status: Status, transaction_type: TransactionType, signal: Callable[[], Signal]
) -> None:
    move = decide(example(status, transaction_type), signal())
    assert move.writes
    assert move.code in set(PublicReason)
    assert SECRET_WORDS not in move.code
    assert SECRET_WORDS in move.note  # BackOffice still sees why


# Issue 13: a customer cancels a withdrawal nobody has acted on.
def test_a_customer_cancels_a_waiting_withdrawal_and_the_hold_comes_back() -> None:
    waiting = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL)
    move = decide(waiting, CustomerCancel())
    assert (move.outcome, move.target, move.code) == (
        Outcome.APPLY,
        S.CANCELLED,
        PublicReason.WITHDRAWAL_CANCELLED,
    )
    assert move.ledger == LedgerMovement(LedgerKind.HOLD_RELEASE, Decimal("25.00"))


def test_a_customers_second_cancel_is_already_applied() -> None:
    waiting = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL)
    change = StatusChange(
        status=S.CANCELLED,
        at=T0,
        reason="cancelled by the customer",
        source="customer",
        code=PublicReason.WITHDRAWAL_CANCELLED,
    )
    cancelled = waiting.model_copy(
        update={"status": S.CANCELLED, "history": (*waiting.history, change)}
    )
    assert decide(cancelled, CustomerCancel()).outcome is Outcome.ALREADY


@pytest.mark.parametrize("status", [S.PROVIDER_CONFIRMED, S.FAILED, S.CANCELLED])
def test_a_withdrawal_backoffice_acted_on_is_not_the_customers_to_cancel(status: Status) -> None:
    # A cancelled one here was declined by BackOffice (its last code is not the customer's).
    move = decide(example(status, TransactionType.WITHDRAWAL), CustomerCancel())
    assert move.outcome is Outcome.REFUSE


def test_a_deposit_is_never_cancelled_as_a_withdrawal() -> None:
    assert decide(example(S.CREATED), CustomerCancel()).outcome is Outcome.IGNORE


# Issue 13: four eyes over the brand's second_approval_over.
ALICE_OPS, BOB_OPS = PRINCIPALS


def approve(principal: str, over: str | None) -> OperatorAction:
    return act(
        OperatorActionKind.APPROVE_WITHDRAWAL,
        payout_reference="PO-1",
        principal=principal,
        second_approval_over=Decimal(over) if over is not None else None,
    )


@pytest.mark.parametrize("over", [None, "25.00", "100.00"])
def test_at_or_under_the_threshold_one_approval_pays_out(over: str | None) -> None:
    waiting = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL)  # 25.00 USD
    move = decide(waiting, approve(ALICE_OPS, over))
    assert (move.outcome, move.target) == (Outcome.APPLY, S.PROVIDER_CONFIRMED)


def test_above_the_threshold_the_first_approval_is_recorded_and_it_keeps_waiting() -> None:
    waiting = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL)
    move = decide(waiting, approve(ALICE_OPS, "24.99"))
    assert (move.outcome, move.target, move.ledger) == (Outcome.APPLY, S.MANUAL_REVIEW, None)
    assert move.set_fields == {"first_approved_by": ALICE_OPS, "provider_reference": "PO-1"}
    assert move.sources == frozenset({S.MANUAL_REVIEW})


def test_the_first_approver_cannot_complete_it_a_different_one_can() -> None:
    first = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL).model_copy(
        update={"first_approved_by": ALICE_OPS}
    )
    again = decide(first, approve(ALICE_OPS, "24.99"))
    assert (again.outcome, again.refusal) == (Outcome.REFUSE, "second_approver_required")
    second = decide(first, approve(BOB_OPS, "24.99"))
    assert (second.outcome, second.target) == (Outcome.APPLY, S.PROVIDER_CONFIRMED)
    assert second.set_fields == {"provider_reference": "PO-1", "payout_route": None}
    assert ALICE_OPS in second.note


def test_either_operator_may_reject_after_the_first_approval_and_the_hold_comes_back() -> None:
    first = example(S.MANUAL_REVIEW, TransactionType.WITHDRAWAL).model_copy(
        update={"first_approved_by": ALICE_OPS}
    )
    for principal in PRINCIPALS:
        reject = act(OperatorActionKind.REJECT_WITHDRAWAL, "no", principal=principal)
        move = decide(first, reject)
        assert (move.target, move.ledger) == (
            S.CANCELLED,
            LedgerMovement(LedgerKind.HOLD_RELEASE, Decimal("25.00")),
        )
    # ... and so may the customer, until the second approval.
    assert decide(first, CustomerCancel()).target is S.CANCELLED
