"""Every money decision: what one signal does to one transaction.

`decide(transaction, signal) -> Move` is the only place that says what happens
when a provider reports something, the janitor gives up on a payment, an
operator acts, the credit worker tries to credit, or the sweeper looks at a
deposit. It is pure: no boto3, no clock, no environment. Every entry point
(webhook, janitor, BackOffice, credit worker, sweeper, deposit creation) gathers
the signal, calls `decide` through the one executor (transitions.execute), and
carries out the Move; none of them decides.

The transition table (statuses.ALLOWED_SOURCES) still guards every write: a
Move's target is always a change the table allows from the status it was
decided on, and storage turns the table into the write's condition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from cashier_core.models import (
    LedgerKind,
    MoneyEffect,
    Transaction,
    ledger_entry_id,
    movement_entry_id,
)
from cashier_core.moves import (
    FieldValue,
    LedgerMovement,
    MoneyRecord,
    Move,
    Outcome,
    awaits_credit,
)
from cashier_core.moves import already as _already
from cashier_core.moves import apply as _apply
from cashier_core.moves import money_text as _money
from cashier_core.moves import refuse as _refuse
from cashier_core.operator_decisions import decide_operator_action
from cashier_core.positions import DepositMoney, deposit_money
from cashier_core.signals import (
    CreditAttempt,
    CreditRefused,
    CustomerCancel,
    JanitorFinding,
    JanitorGaveUp,
    OperatorAction,
    OperatorActionKind,
    PaymentNotStarted,
    PaymentStarted,
    ProviderEffect,
    ProviderReport,
    Signal,
    SweepCheck,
)
from cashier_core.statuses import PublicReason, Status, TransactionType, automatic_sources

# The signals are re-exported: callers speak of a decision and its signals together.
__all__ = [
    "CreditAttempt",
    "CreditRefused",
    "CustomerCancel",
    "JanitorFinding",
    "JanitorGaveUp",
    "LedgerMovement",
    "Move",
    "OperatorAction",
    "OperatorActionKind",
    "Outcome",
    "PaymentNotStarted",
    "PaymentStarted",
    "ProviderEffect",
    "ProviderReport",
    "Signal",
    "SweepCheck",
    "decide",
    "decide_unmatched",
]

S = Status
R = PublicReason
UNKNOWN_TRANSACTION = "unknown_transaction"


# --- the decision ------------------------------------------------------------
def decide(transaction: Transaction, signal: Signal) -> Move:  # noqa: PLR0911 - one per signal
    """What `signal` does to `transaction` as read. Pure."""
    match signal:
        case ProviderReport(scope_mismatch=str(mismatch)):
            # Another mode, merchant account or brand's secret: recorded, never applied.
            return Move(Outcome.IGNORE, note=f"out of scope: {mismatch}")
        case ProviderReport():
            return _provider_report(transaction, signal)
        case PaymentStarted():
            return _payment_started(transaction, signal)
        case PaymentNotStarted():
            if transaction.status is not S.CREATED:
                return Move(Outcome.SKIP, note="a provider's event got there first")
            note = f"{signal.error_code}: {signal.error_message}"
            return _apply(transaction, S.FAILED, R.PAYMENT_NOT_STARTED, note)
        case JanitorGaveUp():
            return _janitor_gave_up(transaction, signal)
        case OperatorAction():
            return decide_operator_action(transaction, signal)
        case CustomerCancel():
            return _customer_cancel(transaction)
        case CreditAttempt():
            return _credit_attempt(transaction)
        case CreditRefused():
            return _credit_refused(transaction, signal)
        case SweepCheck():
            waiting = awaits_credit(transaction.type, transaction.status)
            return Move(Outcome.SKIP, note="sweep", enqueue=waiting)
    raise TypeError(f"unknown signal {signal!r}")  # pragma: no cover - the union is closed


def decide_unmatched(report: ProviderReport) -> Move:
    """A verified provider event that names no transaction of ours: stored (so
    the provider's retries de-duplicate) and acknowledged, never applied. An
    event that moves or returns money is the exception: it may name the payment
    by a reference we only learn from the payment's success (a Stripe dispute
    names the PaymentIntent), which can arrive later, so the provider is asked
    to retry (and the event is parked and looked up again by the janitor)
    rather than forgotten. An event from another scope (mode, merchant
    account) is never retried or parked."""
    if report.scope_mismatch is not None:
        return Move(Outcome.IGNORE, note=f"out of scope: {report.scope_mismatch}")
    if report.effect in _MONEY_EFFECTS:
        return Move(Outcome.RETRY, note="reversal for no transaction found yet")
    return Move(Outcome.IGNORE, note=UNKNOWN_TRANSACTION)


_MONEY_EFFECTS = frozenset(
    {
        ProviderEffect.REFUND,
        ProviderEffect.CHARGEBACK,
        ProviderEffect.REINSTATED,
        ProviderEffect.REFUND_FAILED,
    }
)
_STATUS_EFFECTS = {
    ProviderEffect.FAILED: R.PAYMENT_FAILED,
    ProviderEffect.CANCELLED: R.PAYMENT_CANCELLED,
    ProviderEffect.REVIEW: R.UNDER_REVIEW,
}
_NOT_PAID = (S.CREATED, S.PENDING_PAYMENT, S.FAILED, S.CANCELLED)


@dataclass(frozen=True, slots=True)
class _Reversal:
    """What a refund or a chargeback is called: its final status and its codes."""

    final: Status
    whole: PublicReason  # nothing is left of the deposit
    part: PublicReason  # part of it is left


_REVERSALS: Final = {
    ProviderEffect.REFUND: _Reversal(S.REFUNDED, R.REFUNDED, R.PARTIALLY_REFUNDED),
    ProviderEffect.CHARGEBACK: _Reversal(S.CHARGEBACK, R.CHARGEBACK, R.PARTIAL_CHARGEBACK),
}


def _provider_report(transaction: Transaction, report: ProviderReport) -> Move:  # noqa: PLR0911
    if transaction.type is not TransactionType.DEPOSIT:
        # Provider events only ever move deposits; a withdrawal is BackOffice's.
        return Move(Outcome.IGNORE, note=f"{report.raw_status} names a withdrawal")
    if transaction.provider != report.provider:
        return Move(Outcome.IGNORE, note="another provider's deposit")
    effect = report.effect
    said = f"provider reported {report.raw_status}"
    if effect is ProviderEffect.CONFIRMED:
        return _provider_success(transaction, report)
    if effect in (ProviderEffect.REFUND, ProviderEffect.CHARGEBACK):
        return _provider_reversal(transaction, report)
    if effect in (ProviderEffect.REINSTATED, ProviderEffect.REFUND_FAILED):
        return _provider_reinstated(transaction, report)
    if effect is ProviderEffect.DISPUTE_NOTICE:
        return Move(Outcome.RECORD, note=f"{said}: a dispute was opened; no money moved yet")
    if effect is ProviderEffect.NOTICE:
        return Move(Outcome.RECORD, note=said)
    target = effect.status
    if target is None:  # pragma: no cover - every other effect names a status
        return Move(Outcome.IGNORE, note=said)
    if transaction.status is target:
        return _already(transaction)
    return _apply(transaction, target, _STATUS_EFFECTS[effect], said)


def _reported_amount(transaction: Transaction, report: ProviderReport) -> Decimal | None:
    """The amount a reversal or reinstatement reports in the deposit's currency,
    or None when it reports none (the whole of what is left)."""
    if report.amount is None and report.currency is None:
        return None
    if (
        report.amount is None
        or not report.amount.is_finite()
        or report.amount <= 0
        or report.currency != transaction.currency
    ):
        raise _Unreadable()
    return report.amount


class _Unreadable(Exception):
    """A reported amount that is not a positive amount of the deposit's currency."""


def _provider_reversal(transaction: Transaction, report: ProviderReport) -> Move:  # noqa: PLR0911
    """A refund or a dispute's withdrawal: the amount the provider reports is
    reversed, as its own ledger entry, never more than is on the account."""
    final = _REVERSALS[report.effect].final
    status = transaction.status
    said = f"provider reported {report.raw_status}"
    money = deposit_money(transaction)
    # A running total names its movement below, by the total and the failures before it.
    reference = None if report.cumulative else report.movement_reference
    if reference is not None and reference in money.references:
        return _already(transaction, f"{said}: this movement is recorded")
    if status in _NOT_PAID:
        return _reversal_before_payment(transaction, report, money, reference)
    try:
        reported = _reported_amount(transaction, report)
    except _Unreadable:
        what = f"{said} with an amount the deposit cannot take: {_reported(report)}"
        if status is S.MANUAL_REVIEW:
            return Move(Outcome.RECORD, note=what, needs_person=True)
        if status in (S.REFUNDED, S.CHARGEBACK):
            return Move(Outcome.REFUSE, note=what, target=final, needs_person=True)
        return _replace_person(_apply(transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, what))
    if report.cumulative and reported is not None:
        # A running total of the payment's refunds: this event's share is what
        # the total adds to the refunds recorded and not failed; a total seen
        # before (or an older, smaller one arriving late) adds nothing. A failed
        # refund lowers the provider's total, so the same total after a failure
        # is a new movement.
        total = reported
        reported = total - money.refunds_standing
        if reported <= 0:
            note = f"{said}: refunds up to {_money(total, transaction.currency)} are recorded"
            return _total_seen(transaction, report, money, total, note)
        # The failures before this total name it (one made after it does not
        # make a total made before it another movement).
        before = _failures_not_after(money, report.occurred_at)
        generation = f"#after-{before}-failed" if before else ""
        reference = f"refunds-to:{total}{generation}"
        if reference in money.references:
            note = f"{said}: this movement is recorded"
            return _total_seen(transaction, report, money, total, note)
        if money.refund_failures:
            # After a refund failed, a total made before the failure still
            # counts the failed refund, one made after does not, and deliveries
            # are not ordered: the event times say which. A failure not known
            # to be before the total is taken out of it; one whose order is
            # unknown (no time, the same second) is also a person's to check.
            after, unknown = _failures_after(money, report.occurred_at)
            certain = max(reported - after - unknown, Decimal(0))
            unsure = min(unknown, reported - certain)
            ask = (
                f"{said}: a total of {_money(total, transaction.currency)} after a failed refund;"
                f" {_money(unsure, transaction.currency)} of it may be the failed refund counted"
                " again or a new refund: check the provider before crediting"
            )
            if certain <= 0 and unsure > 0:
                return Move(Outcome.RECORD, note=ask, needs_person=True)
            if certain <= 0:
                note = f"{said}: the total still counted a refund that failed after it"
                return _total_seen(transaction, report, money, total, note)
            move = _reversal(transaction, replace(report, amount=certain, cumulative=False),
                             money, reference, certain)  # fmt: skip
            if unsure > 0:
                move = _replace_person(replace(move, note=f"{move.note}; {ask}"))
            return _with_total(move, report, total)
        move = _reversal(transaction, report, money, reference, reported)
        return _with_total(move, report, total)
    return _reversal(transaction, report, money, reference, reported)


# Where a refund failure that moves nothing stays: no credit of this deposit
# waits. Before the credit it goes to a person, who credits what is owed.
_NOTHING_WAITS_TO_BE_CREDITED = (S.CREDITED, S.MANUAL_REVIEW, S.REFUNDED, S.CHARGEBACK)


def _records_itself(transaction: Transaction) -> bool:
    """Whether the status may record a change to itself (the transition table):
    where a running total that moves nothing is kept."""
    status = transaction.status
    return status in automatic_sources(transaction.type, status)


def _total_seen(
    transaction: Transaction, report: ProviderReport, money: DepositMoney, total: Decimal, note: str
) -> Move:
    """A running total that moves nothing. The latest one the provider made is
    kept with its time: a refund failure delivered after it, but made before
    it, is then read against it (the total already left that refund out).
    Another total made in the same second is kept too: then which is the
    latest cannot be told, and a failure is not read against either."""
    at, latest = report.occurred_at, money.latest_totals
    if at is None or not _records_itself(transaction):
        return _already(transaction, note)
    if latest is not None and (at < latest[0] or (at == latest[0] and total in latest[1])):
        return _already(transaction, note)
    record = MoneyRecord(MoneyEffect.TOTAL_SEEN, Decimal(0), occurred_at=at, total=total)
    code = transaction.history[-1].public_reason if transaction.history else R.REFUNDED
    note = f"{note}; kept with its time"
    return _apply(transaction, transaction.status, code, note, money=record)


def _with_total(move: Move, report: ProviderReport, total: Decimal) -> Move:
    """A running total's move records the total and when the provider made it."""
    if move.outcome is not Outcome.APPLY or report.occurred_at is None:
        return move
    record = move.money or MoneyRecord(MoneyEffect.TOTAL_SEEN, Decimal(0))
    return replace(move, money=replace(record, total=total, occurred_at=report.occurred_at))


def _left_out_by_a_later_total(money: DepositMoney, failed_at: int | None) -> Decimal | None:
    """Of a refund failing at `failed_at`, what may still come back when the
    provider made a running total after it: that total already left the failed
    refund out, so only what the refunds recorded stand above it (less the
    failures after it, which it still counted) comes back. None when no total
    is known after the failure, or the order cannot be told (the same second)."""
    latest = money.latest_totals
    if failed_at is None or latest is None:
        return None
    made, totals = latest
    if made <= failed_at or len(totals) != 1:
        return None
    after, unknown = _failures_after(money, made)
    if unknown > 0:
        return None
    (total,) = totals
    return max(money.refunds_standing - (total - after), Decimal(0))


def _failures_not_after(money: DepositMoney, at: int | None) -> int:
    """How many refund failures are not known to come after a total made at `at`."""
    return sum(
        1
        for _, failed_at in money.failed_refunds
        if at is None or failed_at is None or failed_at <= at
    )


def _failures_after(money: DepositMoney, at: int | None) -> tuple[Decimal, Decimal]:
    """What refund failures came back after a total made at `at` (it still
    counted them), and what came back at a time that cannot be ordered."""
    after = unknown = Decimal(0)
    for amount, failed_at in money.failed_refunds:
        if at is None or failed_at is None or failed_at == at:
            unknown += amount
        elif failed_at > at:
            after += amount
    return after, unknown


def _reversal(
    transaction: Transaction,
    report: ProviderReport,
    money: DepositMoney,
    reference: str | None,
    reported: Decimal | None,
) -> Move:
    """A reversal of a paid deposit, its amount and movement known."""
    final = _REVERSALS[report.effect].final
    status = transaction.status
    said = f"provider reported {report.raw_status}"
    if status is final and reference is None:
        # The same kind of reversal again, naming no movement: a repeat report.
        return _already(transaction)
    if status in (S.REFUNDED, S.CHARGEBACK):
        # Nothing is left to take: the money left twice at the provider. Never
        # reopens review on its own; a person is alarmed.
        return Move(
            Outcome.REFUSE,
            note=f"{said} after the deposit was {status.api_name}",
            target=final,
            needs_person=True,
        )
    if money.on_account > 0 or status is S.CREDITED:
        return _reversal_on_account(transaction, report, money, reference, reported)
    return _reversal_before_credit(transaction, report, money, reference, reported)


def _reversal_before_payment(
    transaction: Transaction, report: ProviderReport, money: DepositMoney, reference: str | None
) -> Move:
    """Out of order, or a payment we never saw succeed: a person looks, so that
    a success arriving later can never credit money already gone; what the
    provider says it took back is recorded, so a person's credit owes that much less."""
    note = f"provider reported {report.raw_status} before the payment was confirmed"
    try:
        asked = _reported_amount(transaction, report)
    except _Unreadable:
        asked = None
    taken = money.owed if asked is None else min(asked, money.owed)
    record = (
        MoneyRecord(MoneyEffect.REVERSED_BEFORE_CREDIT, taken, reference) if taken > 0 else None
    )
    return _apply(transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, note, money=record)


def _reversal_on_account(
    transaction: Transaction,
    report: ProviderReport,
    money: DepositMoney,
    reference: str | None,
    reported: Decimal | None,
) -> Move:
    """Money on the account: what the provider took back is, in this order,
    - a payout's return to source, up to what approved withdrawals' routes
      await (their holds already took it from the account: no ledger entry; a
      chargeback counts too, the card has the money);
    - reversed from the account (its own ledger entry), never more than this
      deposit left there beside its routes (positions.reversible);
    - taken from what still waits to be re-credited (money that came back and
      a person has not credited yet: recorded, so that credit owes less).
    Anything beyond is more than the deposit has: a person is alarmed.
    Unnamed, it is all that is left."""
    kind = _REVERSALS[report.effect]
    currency, status = transaction.currency, transaction.status
    said = f"provider reported {report.raw_status}"
    awaiting, reversible = money.awaiting_return, money.reversible
    asked = awaiting + reversible if reported is None else reported
    to_source = min(asked, awaiting)
    taken = min(asked - to_source, reversible)
    excess = asked - to_source - taken
    # All of the rest is recorded against what is (or will be) owed, so money
    # that comes back later nets against it; beyond what waits now, a person looks.
    before = excess
    over = excess - min(excess, max(money.to_credit, Decimal(0)))
    parts = [
        f"{_money(amount, currency)} {what}"
        for amount, what in (
            (to_source, "returned to source (a withdrawal's payout)"),
            (taken, "reversed"),
            (before, "taken from what is owed to be re-credited"),
        )
        if amount > 0
    ]
    note = f"{said}: {'; '.join(parts)}" if parts else said
    record, ledger, entry_id = _taken(transaction, money, reference, to_source, taken, before)
    if over > 0 or record is None:
        note += (
            f"; {_money(asked, currency)} is more than the "
            f"{_money(asked - over, currency)} left of the deposit"
        )
        code = kind.part if record is not None else R.UNDER_REVIEW
        move = _apply(
            transaction, S.MANUAL_REVIEW, code, note, ledger=ledger, money=record, entry_id=entry_id
        )
        return _replace_person(move)
    left = reversible - taken + awaiting - to_source
    if left == 0 and money.to_credit - before <= 0:
        target, code = kind.final, kind.whole
    else:
        stays = status in (S.CREDITED, S.MANUAL_REVIEW)
        target, code = (status if stays else S.MANUAL_REVIEW), kind.part
    return _apply(transaction, target, code, note, ledger=ledger, money=record, entry_id=entry_id)


def _taken(  # noqa: PLR0917 - the three parts, named where it is called
    transaction: Transaction,
    money: DepositMoney,
    reference: str | None,
    to_source: Decimal,
    taken: Decimal,
    before: Decimal,
) -> tuple[MoneyRecord | None, LedgerKind | None, str | None]:
    """The one history record (and ledger entry, when the account pays) of a
    reversal's three parts (see _reversal_on_account)."""
    part_before = before or None
    if taken > 0:
        entry_id = _reversal_entry_id(transaction, money.reversals, reference)
        record = MoneyRecord(
            MoneyEffect.REVERSAL, taken, reference, to_source=to_source or None,
            before_credit=part_before,
        )  # fmt: skip
        return record, LedgerKind.REVERSAL, entry_id
    if to_source > 0:
        record = MoneyRecord(
            MoneyEffect.RETURNED_TO_SOURCE, to_source, reference, before_credit=part_before
        )
        return record, None, None
    if before > 0:
        return MoneyRecord(MoneyEffect.REVERSED_BEFORE_CREDIT, before, reference), None, None
    return None, None, None


def _reversal_before_credit(
    transaction: Transaction,
    report: ProviderReport,
    money: DepositMoney,
    reference: str | None,
    reported: Decimal | None,
) -> Move:
    """Not credited yet (confirmed, credit failed, or in review): nothing to take
    from the account; what the provider took back is recorded so that a later
    credit owes that much less. All of it stops the credit."""
    kind = _REVERSALS[report.effect]
    final, code_whole, code_part = kind.final, kind.whole, kind.part
    said = f"provider reported {report.raw_status}"
    owed = money.owed
    asked = owed if reported is None else reported
    captured = _is_captured_amount(transaction, report)
    if captured or asked >= owed:
        # All of it is recorded, beyond what is owed too (money that comes back
        # later nets against it; a person is alarmed), unless the report names
        # the captured amount, which is the whole deposit: what is still owed.
        taken = max(min(asked, owed) if captured else asked, Decimal(0))
        record = MoneyRecord(MoneyEffect.REVERSED_BEFORE_CREDIT, taken, reference)
        # Recorded even when nothing is taken: a change with no record would be
        # read as a legacy one that took all that is owed.
        move = _apply(transaction, final, code_whole, said, money=record)
        # More than is owed, or nothing owed to take it from: a person looks.
        return _replace_person(move) if asked > owed or taken <= 0 else move
    record = MoneyRecord(MoneyEffect.REVERSED_BEFORE_CREDIT, asked, reference)
    part, whole = _money(asked, transaction.currency), _money(owed, transaction.currency)
    note = f"{said}: {part} of {whole} went back before the credit"
    return _apply(transaction, S.MANUAL_REVIEW, code_part, note, money=record)


def _provider_reinstated(transaction: Transaction, report: ProviderReport) -> Move:  # noqa: PLR0911
    """Money taken back came back to us (a dispute won, a chargeback reversed, a
    refund that failed): never credited on a provider's word; it waits in review
    for a person, who re-credits it through the one credit path. Never more
    comes back than the movement it returns took (or, unnamed, than refunds
    recorded for a failed refund, or all that was taken back)."""
    said = f"provider reported {report.raw_status}"
    refund = report.effect is ProviderEffect.REFUND_FAILED
    money = deposit_money(transaction)
    reference = report.movement_reference
    if reference is not None and reference in money.references:
        return _already(transaction, f"{said}: this movement is recorded")
    returns = report.reinstates
    if returns is not None:
        if returns not in money.references:
            # Not a movement we recorded (or one recorded before movements had
            # names): nothing is returned on the provider's word; a person looks.
            note = f"{said}: {returns} is not a movement recorded here"
            return Move(Outcome.RECORD, note=note, needs_person=True)
        cap = money.returnable(returns)
    elif refund:
        cap = money.refunds_standing
    else:
        cap = money.dispute_reinstatable
    cap = min(cap, money.reinstatable)
    if transaction.status in _NOT_PAID or cap <= 0:
        note = f"{said}: nothing taken back is left to return"
        if refund and transaction.status not in _NOT_PAID and returns is None:
            return _refund_failed_first(transaction, report, note)
        return Move(Outcome.RECORD, note=note)
    try:
        reported = _reported_amount(transaction, report)
    except _Unreadable:
        # What came back cannot be read: recorded, and a person is alarmed.
        what = f"{said} with an amount the deposit cannot take: {_reported(report)}"
        return Move(Outcome.RECORD, note=what, needs_person=True)
    returned = cap if reported is None else min(reported, cap)
    if refund and returns is None and reported is not None:
        above = _left_out_by_a_later_total(money, report.occurred_at)
        if above is not None and above < returned:
            if above <= 0:
                note = f"{said}: a running total made after it already left it out"
                return _refund_failed_first(transaction, report, note, outcome="nothing moves")
            returned = above
    # A refund failing for more than the refunds recorded (or than a later
    # total leaves standing): the rest is a refund whose own total has not come
    # yet, or one a later total left out, kept to read totals by (as above).
    rest = reported - returned if refund and returns is None and reported is not None else None
    record = MoneyRecord(
        MoneyEffect.REINSTATED, returned, reference, returns,
        occurred_at=report.occurred_at if refund else None,
        failed_first=rest if rest else None,
    )  # fmt: skip
    note = f"{said}: {_money(returned, transaction.currency)} came back; re-credit after review"
    code = R.REFUND_FAILED if refund else R.FUNDS_REINSTATED
    move = _apply(transaction, S.MANUAL_REVIEW, code, note, money=record)
    return _replace_person(move)


def _refund_failed_first(
    transaction: Transaction,
    report: ProviderReport,
    note: str,
    outcome: str = "kept for the refund's own report",
) -> Move:
    """A refund failing before its running total is delivered (deliveries are
    not ordered), or after a total made later that left it out: kept with its
    amount and time, nothing moved, so totals are read by it. Without an amount
    or a time it cannot be kept: a person checks the provider."""
    try:
        reported = _reported_amount(transaction, report)
    except _Unreadable:
        reported = None
    status = transaction.status
    if reported is None or report.occurred_at is None:
        return Move(Outcome.RECORD, note=f"{note}; check the provider", needs_person=True)
    kept = f"{note}: {_money(reported, transaction.currency)} {outcome}"
    record = MoneyRecord(
        MoneyEffect.REINSTATED, Decimal(0), report.movement_reference,
        occurred_at=report.occurred_at, failed_first=reported,
    )  # fmt: skip
    if status in _NOTHING_WAITS_TO_BE_CREDITED:
        return _apply(transaction, status, R.REFUND_FAILED, kept, money=record)
    # Not credited yet: kept while a person credits it (the credit waits for them).
    move = _apply(transaction, S.MANUAL_REVIEW, R.REFUND_FAILED, kept, money=record)
    return _replace_person(move)


def _reversal_entry_id(transaction: Transaction, earlier: int, reference: str | None) -> str:
    if reference is not None:
        return movement_entry_id(transaction.transaction_id, LedgerKind.REVERSAL, reference)
    return ledger_entry_id(transaction.transaction_id, LedgerKind.REVERSAL, earlier + 1)


def _is_captured_amount(transaction: Transaction, report: ProviderReport) -> bool:
    """In review after a mismatch, what the provider captured is what it can take back."""
    captured = transaction.provider_amount, transaction.provider_currency
    return captured[0] is not None and (report.amount, report.currency) == captured


def _replace_person(move: Move) -> Move:
    """Money moved at the provider that a person must look at: alarmed."""
    return replace(move, needs_person=True)


def _reported(report: ProviderReport) -> str:
    if report.amount is not None and report.currency is not None:
        return _money(report.amount, report.currency)
    return "an incomplete amount"


def _provider_success(transaction: Transaction, report: ProviderReport) -> Move:
    status = transaction.status
    if status in (S.PROVIDER_CONFIRMED, S.CREDITED):
        return _already(transaction)
    if status in (S.CREDIT_FAILED, S.REFUNDED, S.CHARGEBACK):
        # Stale news: the money was confirmed and has since moved on. It never
        # reopens review, where a person could credit money that has left.
        return _refuse(transaction, S.PROVIDER_CONFIRMED)
    # The payment's own reference is kept on every path, review included: later
    # refunds and disputes name only it (a Stripe dispute names the PaymentIntent).
    reference: dict[str, FieldValue] = (
        {"provider_reference": report.new_reference} if report.new_reference else {}
    )
    review = _confirmation_needs_review(transaction, report)
    if review is not None:
        if status is S.MANUAL_REVIEW:
            return _already(transaction, f"already in review; {review}")
        captured: dict[str, FieldValue] = (
            {"provider_amount": report.amount, "provider_currency": report.currency}
            if report.amount is not None
            and report.currency is not None
            and report.amount.is_finite()
            and len(report.currency) == 3
            and report.currency.isascii()
            and report.currency.isupper()
            else {}
        )
        return _apply(
            transaction,
            S.MANUAL_REVIEW,
            R.UNDER_REVIEW,
            review,
            set_fields={**reference, **captured},
        )
    said = f"provider reported {report.raw_status}"
    return _apply(
        transaction, S.PROVIDER_CONFIRMED, R.PAYMENT_CONFIRMED, said, set_fields=reference
    )


def _confirmation_needs_review(transaction: Transaction, report: ProviderReport) -> str | None:
    """Why a provider's success must wait for a person, or None. Closed by default:
    no amount is a reason, unless the module declares it never reports one."""
    expected = _money(transaction.amount, transaction.currency)
    if report.amount is None or report.currency is None:
        if report.reports_amounts:
            return f"provider reported success without an amount; expected {expected}"
    elif report.amount != transaction.amount or report.currency != transaction.currency:
        reported = _money(report.amount, report.currency)
        return f"amount mismatch: provider reported {reported}, expected {expected}"
    if transaction.status in (S.FAILED, S.CANCELLED):
        return f"provider reported success after {transaction.status.api_name}"
    return None


def _payment_started(transaction: Transaction, started: PaymentStarted) -> Move:
    if transaction.status is not S.CREATED:
        return Move(Outcome.SKIP, note="a provider's event got there first; its status stands")
    if started.status is not S.PENDING_PAYMENT:
        # A module that claims more than "created" is not trusted with money: the
        # confirmation comes only through a report, with its amount.
        return _apply(
            transaction,
            S.MANUAL_REVIEW,
            R.UNDER_REVIEW,
            f"the module answered {started.status.api_name} when creating the payment",
        )
    fields: dict[str, FieldValue] = {
        "provider_reference": started.provider_reference,
        "redirect_url": started.redirect_url,
        "instructions": dict(started.instructions) if started.instructions else None,
    }
    note = "payment created at the provider"
    return _apply(transaction, S.PENDING_PAYMENT, R.PAYMENT_STARTED, note, set_fields=fields)


def _janitor_gave_up(transaction: Transaction, finding: JanitorGaveUp) -> Move:
    if transaction.type is not TransactionType.DEPOSIT:
        return Move(Outcome.IGNORE, note="the janitor only watches deposits")
    if finding.finding is JanitorFinding.ABANDONED:
        if transaction.status is not S.CREATED:
            return Move(Outcome.SKIP, note="moved on before the janitor")
        note = "janitor: the provider's answer never arrived"
        return _apply(transaction, S.FAILED, R.PAYMENT_NOT_STARTED, note)
    if transaction.status is not S.PENDING_PAYMENT:
        return Move(Outcome.SKIP, note="moved on before the janitor")
    note = f"janitor: no payment within {finding.detail}" if finding.detail else "janitor: expired"
    return _apply(transaction, S.CANCELLED, R.PAYMENT_EXPIRED, note)


def _customer_cancel(transaction: Transaction) -> Move:
    """A customer takes back a withdrawal nobody has paid out: only while it waits
    in manual_review (a first of two approvals included), and the hold goes back
    with its ledger entry. A repeat of their own cancel answers with it; a
    withdrawal BackOffice declined, approved or failed is not theirs to cancel."""
    if transaction.type is not TransactionType.WITHDRAWAL:
        return Move(Outcome.IGNORE, note="only a withdrawal is cancelled by its customer")
    last = transaction.history[-1]
    if transaction.status is S.CANCELLED and last.code is R.WITHDRAWAL_CANCELLED:
        return _already(transaction)
    code, note = R.WITHDRAWAL_CANCELLED, "cancelled by the customer"
    return _apply(transaction, S.CANCELLED, code, note, ledger=LedgerKind.HOLD_RELEASE)


def _credit_refused(transaction: Transaction, refused: CreditRefused) -> Move:
    if transaction.type is not TransactionType.DEPOSIT:
        return Move(Outcome.IGNORE, note="only deposits are credited")
    if transaction.status is not S.PROVIDER_CONFIRMED:
        return Move(Outcome.SKIP, note=f"not creditable: {transaction.status.api_name}")
    note = f"{refused.error_code}: {refused.error_message}"
    return _apply(transaction, S.CREDIT_FAILED, R.CREDIT_DELAYED, note)


def _credit_attempt(transaction: Transaction) -> Move:
    if transaction.type is not TransactionType.DEPOSIT:
        return Move(Outcome.IGNORE, note="only deposits are credited")
    if transaction.status is S.CREDITED:
        return Move(Outcome.ALREADY, note="already credited", target=S.CREDITED)
    if transaction.status is not S.PROVIDER_CONFIRMED:
        return Move(Outcome.SKIP, note=f"not creditable: {transaction.status.api_name}")
    # What is owed now: the amount, less what the provider took back before
    # the credit, plus what came back after a reversal, less what is on the account.
    money = deposit_money(transaction)
    owed = money.to_credit
    if owed <= 0:
        record = MoneyRecord(MoneyEffect.CREDIT, Decimal(0))
        note = "nothing left to credit: the provider took it all back"
        return _apply(transaction, S.CREDITED, R.CREDITED, note, money=record)
    return _apply(
        transaction,
        S.CREDITED,
        R.CREDITED,
        "credited to the trading account",
        ledger=LedgerKind.CREDIT,
        money=MoneyRecord(MoneyEffect.CREDIT, owed),
        entry_id=ledger_entry_id(transaction.transaction_id, LedgerKind.CREDIT, money.credits + 1),
    )
