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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from cashier_core.errors import CashierError
from cashier_core.models import LedgerKind, Transaction
from cashier_core.money import format_amount
from cashier_core.signals import (
    CreditAttempt,
    CreditRefused,
    JanitorFinding,
    JanitorGaveUp,
    OperatorAction,
    OperatorActionKind,
    PaymentNotStarted,
    PaymentStarted,
    ProviderReport,
    Signal,
    SweepCheck,
)
from cashier_core.statuses import (
    OPERATOR_ONLY,
    PublicReason,
    Status,
    TransactionType,
    can_transition,
)

# The signals are re-exported: callers speak of a decision and its signals together.
__all__ = [
    "CreditAttempt",
    "CreditRefused",
    "JanitorFinding",
    "JanitorGaveUp",
    "LedgerMovement",
    "Move",
    "OperatorAction",
    "OperatorActionKind",
    "Outcome",
    "PaymentNotStarted",
    "PaymentStarted",
    "ProviderReport",
    "Signal",
    "SweepCheck",
    "decide",
    "decide_unmatched",
]

S = Status
R = PublicReason
UNKNOWN_TRANSACTION = "unknown_transaction"
# What a status change may also set (storage.conditions.MUTABLE_FIELDS).
FieldValue = str | Decimal | dict[str, str] | None


class Outcome(StrEnum):
    APPLY = "apply"  # write the change (and its ledger movement, if any)
    ALREADY = "already"  # the state this signal asks for already holds: nothing to write
    REFUSE = (
        "refuse"  # the table forbids it from here: an operator gets 409, a provider's is recorded
    )
    IGNORE = "ignore"  # the signal is not about this kind of transaction: recorded, never applied
    SKIP = "skip"  # nothing to do (a job's signal that another writer overtook)
    RETRY = "retry"  # not yet decidable: nothing is stored, the sender retries


@dataclass(frozen=True, slots=True)
class LedgerMovement:
    kind: LedgerKind
    amount: Decimal  # unsigned; the kind gives the sign


@dataclass(frozen=True, slots=True)
class Move:
    outcome: Outcome
    code: PublicReason | None = None  # what the customer sees (APPLY only)
    note: str = ""  # the internal reason: BackOffice, logs, delivery records
    target: Status | None = None
    ledger: LedgerMovement | None = None
    # The statuses this change may be written from; the executor also pins the version.
    sources: frozenset[Status] = frozenset()
    enqueue: bool = False  # hand the deposit to the credit worker afterwards
    # Nothing was applied but money moved at the provider: alarm a person.
    needs_person: bool = False
    set_fields: Mapping[str, FieldValue] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return self.outcome is Outcome.APPLY


# Which operator action is for which type, and what it leads to.
_ACTION_TYPES: dict[OperatorActionKind, TransactionType] = {
    OperatorActionKind.APPROVE_WITHDRAWAL: TransactionType.WITHDRAWAL,
    OperatorActionKind.REJECT_WITHDRAWAL: TransactionType.WITHDRAWAL,
    OperatorActionKind.FAIL_PAYOUT: TransactionType.WITHDRAWAL,
    OperatorActionKind.CREDIT_REVIEWED_DEPOSIT: TransactionType.DEPOSIT,
    OperatorActionKind.REJECT_REVIEWED_DEPOSIT: TransactionType.DEPOSIT,
    OperatorActionKind.RETRY_FAILED_CREDIT: TransactionType.DEPOSIT,
    OperatorActionKind.CONFIRM_BANK_WIRE: TransactionType.DEPOSIT,
}


# --- building moves ----------------------------------------------------------
def _apply(
    transaction: Transaction,
    target: Status,
    code: PublicReason,
    note: str,
    *,
    by_operator: bool = False,
    ledger: LedgerKind | None = None,
    amount: Decimal | None = None,
    set_fields: Mapping[str, FieldValue] | None = None,
) -> Move:
    """A change from the current status, if the table allows it for this signal's
    kind of author; otherwise a refusal. A move is never wider than the table."""
    source = transaction.status
    allowed = can_transition(transaction.type, source, target) and (
        by_operator or (source, target) not in OPERATOR_ONLY
    )
    if not allowed:
        return _refuse(transaction, target)
    return Move(
        Outcome.APPLY,
        code=code,
        note=note,
        target=target,
        ledger=LedgerMovement(ledger, transaction.amount if amount is None else amount)
        if ledger
        else None,
        sources=frozenset({source}),
        enqueue=target is S.PROVIDER_CONFIRMED and transaction.type is TransactionType.DEPOSIT,
        set_fields=set_fields or {},
    )


def _refuse(transaction: Transaction, target: Status) -> Move:
    return Move(
        Outcome.REFUSE,
        note=f"{transaction.status.api_name} -> {target.api_name}",
        target=target,
    )


def _already(transaction: Transaction, note: str = "already applied") -> Move:
    # A repeat finds a confirmed deposit: enqueue again, the first message may be lost.
    return Move(
        Outcome.ALREADY,
        note=note,
        target=transaction.status,
        enqueue=transaction.status is S.PROVIDER_CONFIRMED
        and transaction.type is TransactionType.DEPOSIT,
    )


def _money(amount: Decimal, currency: str) -> str:
    try:
        return f"{format_amount(amount, currency)} {currency}"
    except CashierError:  # an unknown currency is shown as reported, never raised
        return f"{amount} {currency}"


# --- the decision ------------------------------------------------------------
def decide(transaction: Transaction, signal: Signal) -> Move:  # noqa: PLR0911 - one per signal
    """What `signal` does to `transaction` as read. Pure."""
    match signal:
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
            return _operator_action(transaction, signal)
        case CreditAttempt():
            return _credit_attempt(transaction)
        case CreditRefused():
            if transaction.type is not TransactionType.DEPOSIT:
                return Move(Outcome.IGNORE, note="only deposits are credited")
            if transaction.status is not S.PROVIDER_CONFIRMED:
                return Move(Outcome.SKIP, note=f"not creditable: {transaction.status.api_name}")
            note = f"{signal.error_code}: {signal.error_message}"
            return _apply(transaction, S.CREDIT_FAILED, R.CREDIT_DELAYED, note)
        case SweepCheck():
            waiting = (
                transaction.type is TransactionType.DEPOSIT
                and transaction.status is S.PROVIDER_CONFIRMED
            )
            return Move(Outcome.SKIP, note="sweep", enqueue=waiting)
    raise TypeError(f"unknown signal {signal!r}")  # pragma: no cover - the union is closed


def decide_unmatched(report: ProviderReport) -> Move:
    """A verified provider event that names no transaction of ours: stored (so
    the provider's retries de-duplicate) and acknowledged, never applied. A
    refund or dispute is the exception: it may name the payment by a reference
    we only learn from the payment's success (a Stripe dispute names the
    PaymentIntent), which can arrive later, so the provider is asked to retry
    rather than the reversal being forgotten and the late success credited."""
    if report.target in (S.REFUNDED, S.CHARGEBACK):
        return Move(Outcome.RETRY, note="reversal for no transaction found yet")
    return Move(Outcome.IGNORE, note=UNKNOWN_TRANSACTION)


def _provider_report(transaction: Transaction, report: ProviderReport) -> Move:  # noqa: PLR0911
    if transaction.type is not TransactionType.DEPOSIT:
        # Provider events only ever move deposits; a withdrawal is BackOffice's.
        return Move(Outcome.IGNORE, note=f"{report.raw_status} names a withdrawal")
    if transaction.provider != report.provider:
        return Move(Outcome.IGNORE, note="another provider's deposit")
    target, status = report.target, transaction.status
    said = f"provider reported {report.raw_status}"
    if target is S.PROVIDER_CONFIRMED:
        return _provider_success(transaction, report)
    if status is target:
        return _already(transaction)
    if target in (S.REFUNDED, S.CHARGEBACK):
        return _provider_reversal(transaction, report)
    if target is S.FAILED:
        return _apply(transaction, target, R.PAYMENT_FAILED, said)
    if target is S.CANCELLED:
        return _apply(transaction, target, R.PAYMENT_CANCELLED, said)
    if target is S.MANUAL_REVIEW:
        return _apply(transaction, target, R.UNDER_REVIEW, said)
    # created, pending_payment, credited, credit_failed are never a provider's to say.
    return _refuse(transaction, target)


def _provider_reversal(transaction: Transaction, report: ProviderReport) -> Move:
    """A refund or a dispute the provider reports."""
    target, status = report.target, transaction.status
    said = f"provider reported {report.raw_status}"
    if status in (S.CREATED, S.PENDING_PAYMENT, S.FAILED, S.CANCELLED):
        # Out of order, or a payment we never saw succeed: a person looks, so
        # that a success arriving later can never credit money already gone.
        note = f"{said} before the payment was confirmed"
        return _apply(transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, note)
    code = R.REFUNDED if target is S.REFUNDED else R.CHARGEBACK
    partial = _partial_reversal(transaction, report)
    if status is S.CREDITED:
        # Only a credited deposit has money on the account to take back, and a
        # reversal takes the whole deposit: another amount is for BackOffice
        # (counted and alarmed as PartialReversalRefused by the webhook).
        if partial is not None:
            return Move(Outcome.REFUSE, note=partial, target=target, needs_person=True)
        return _apply(transaction, target, code, said, ledger=LedgerKind.REVERSAL)
    if partial is not None:
        # Part of a deposit not yet credited went back: never final, never
        # credited whole; a person decides what is owed.
        if status is S.MANUAL_REVIEW:
            return _already(transaction, partial)
        return _apply(transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, f"{said}; {partial}")
    # Before the credit (or during review) a whole refund or dispute stops the
    # credit: the provider is taking back money we never passed on.
    return _apply(transaction, target, code, said)


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


def _partial_reversal(transaction: Transaction, report: ProviderReport) -> str | None:
    """Why a refund or dispute is not of the whole deposit, or None. The ledger
    reverses whole deposits only; another amount on a credited deposit is
    recorded for BackOffice rather than taking more than the provider did."""
    if report.amount is None and report.currency is None:
        return None  # the module reports a whole reversal without an amount
    if report.amount == transaction.amount and report.currency == transaction.currency:
        return None
    # In review after a mismatch, what the provider captured is what it can take back.
    captured = (transaction.provider_amount, transaction.provider_currency)
    if captured[0] is not None and (report.amount, report.currency) == captured:
        return None
    reported = (
        _money(report.amount, report.currency)
        if report.amount is not None and report.currency is not None
        else "an incomplete amount"
    )
    expected = _money(transaction.amount, transaction.currency)
    return f"partial reversal: {reported} of {expected}"


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


def _credit_attempt(transaction: Transaction) -> Move:
    if transaction.type is not TransactionType.DEPOSIT:
        return Move(Outcome.IGNORE, note="only deposits are credited")
    if transaction.status is S.CREDITED:
        return Move(Outcome.ALREADY, note="already credited", target=S.CREDITED)
    if transaction.status is not S.PROVIDER_CONFIRMED:
        return Move(Outcome.SKIP, note=f"not creditable: {transaction.status.api_name}")
    return _apply(
        transaction,
        S.CREDITED,
        R.CREDITED,
        "credited to the trading account",
        ledger=LedgerKind.CREDIT,
    )


def _operator_action(transaction: Transaction, action: OperatorAction) -> Move:  # noqa: PLR0911, PLR0912
    kind, status, note = action.kind, transaction.status, action.note
    if transaction.type is not _ACTION_TYPES[kind]:
        return Move(Outcome.IGNORE, note=f"{kind.value} is not for a {transaction.type}")

    def person(
        target: Status, code: PublicReason, text: str, ledger: LedgerKind | None = None
    ) -> Move:
        return _apply(transaction, target, code, text, by_operator=True, ledger=ledger)

    match kind:
        case OperatorActionKind.APPROVE_WITHDRAWAL:
            if status is S.PROVIDER_CONFIRMED:
                return _already(transaction)
            text = f"approved for payout: {note}" if note else "approved for payout"
            move = person(S.PROVIDER_CONFIRMED, R.WITHDRAWAL_APPROVED, text)
            if move.writes:
                return replace(move, set_fields={"provider_reference": action.payout_reference})
            return move
        case OperatorActionKind.REJECT_WITHDRAWAL:
            if status is S.CANCELLED:
                return _already(transaction)
            code = R.WITHDRAWAL_DECLINED
            return person(S.CANCELLED, code, note, LedgerKind.HOLD_RELEASE)
        case OperatorActionKind.FAIL_PAYOUT:
            if status is S.FAILED:
                return _already(transaction)
            return person(S.FAILED, R.PAYOUT_FAILED, note, LedgerKind.HOLD_RELEASE)
        case OperatorActionKind.CREDIT_REVIEWED_DEPOSIT:
            if status in (S.PROVIDER_CONFIRMED, S.CREDITED):
                return _already(transaction)
            if status is not S.MANUAL_REVIEW:
                return _refuse(transaction, S.PROVIDER_CONFIRMED)
            return person(S.PROVIDER_CONFIRMED, R.REVIEW_APPROVED, f"credited after review: {note}")
        case OperatorActionKind.REJECT_REVIEWED_DEPOSIT:
            if status is S.FAILED:
                return _already(transaction)
            if status is not S.MANUAL_REVIEW:
                return _refuse(transaction, S.FAILED)
            return person(S.FAILED, R.REVIEW_DECLINED, f"rejected after review: {note}")
        case OperatorActionKind.RETRY_FAILED_CREDIT:
            if status in (S.PROVIDER_CONFIRMED, S.CREDITED):
                return _already(transaction)
            if status is not S.CREDIT_FAILED:
                return _refuse(transaction, S.PROVIDER_CONFIRMED)
            return person(S.PROVIDER_CONFIRMED, R.PAYMENT_CONFIRMED, f"credit retried: {note}")
        case OperatorActionKind.CONFIRM_BANK_WIRE:
            return _bank_wire(transaction, action)
    raise TypeError(f"unknown operator action {kind!r}")  # pragma: no cover


def _bank_wire(transaction: Transaction, action: OperatorAction) -> Move:
    """A wire arrived: its own amount confirms a waiting deposit; any other amount,
    or a wire after failed/cancelled, goes to a person."""
    status = transaction.status
    if action.amount is None or action.currency is None:
        return _refuse(transaction, S.PROVIDER_CONFIRMED)
    received = _money(action.amount, action.currency)
    matches = action.amount == transaction.amount and action.currency == transaction.currency
    if matches and status in (S.PROVIDER_CONFIRMED, S.CREDITED):
        return _already(transaction)
    if matches and status is S.PENDING_PAYMENT:
        text = f"wire of {received} received: {action.note}"
        return _apply(
            transaction, S.PROVIDER_CONFIRMED, R.PAYMENT_CONFIRMED, text, by_operator=True
        )
    if status is S.MANUAL_REVIEW:
        return _already(transaction)
    expected = _money(transaction.amount, transaction.currency)
    why = (
        f"wire of {received} received, expected {expected}"
        if not matches
        else f"wire of {received} received after {status.api_name}"
    )
    if status not in (S.PENDING_PAYMENT, S.FAILED, S.CANCELLED):
        return _refuse(transaction, S.MANUAL_REVIEW)
    return _apply(
        transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, f"{why}: {action.note}", by_operator=True
    )
