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

from cashier_core.models import LedgerKind, Transaction
from cashier_core.moves import FieldValue, LedgerMovement, Move, Outcome, awaits_credit
from cashier_core.moves import already as _already
from cashier_core.moves import apply as _apply
from cashier_core.moves import money_text as _money
from cashier_core.moves import refuse as _refuse
from cashier_core.operator_decisions import decide_operator_action
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
    ProviderReport,
    Signal,
    SweepCheck,
)
from cashier_core.statuses import PublicReason, Status, TransactionType

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
            if transaction.type is not TransactionType.DEPOSIT:
                return Move(Outcome.IGNORE, note="only deposits are credited")
            if transaction.status is not S.PROVIDER_CONFIRMED:
                return Move(Outcome.SKIP, note=f"not creditable: {transaction.status.api_name}")
            note = f"{signal.error_code}: {signal.error_message}"
            return _apply(transaction, S.CREDIT_FAILED, R.CREDIT_DELAYED, note)
        case SweepCheck():
            waiting = awaits_credit(transaction.type, transaction.status)
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


def _provider_reversal(transaction: Transaction, report: ProviderReport) -> Move:  # noqa: PLR0911
    """A refund or a dispute the provider reports."""
    target, status = report.target, transaction.status
    said = f"provider reported {report.raw_status}"
    if status in (S.CREATED, S.PENDING_PAYMENT, S.FAILED, S.CANCELLED):
        # Out of order, or a payment we never saw succeed: a person looks, so
        # that a success arriving later can never credit money already gone.
        note = f"{said} before the payment was confirmed"
        return _apply(transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, note)
    if status in (S.REFUNDED, S.CHARGEBACK):
        # Already reversed or stopped: another reversal changes nothing and
        # never reopens review (a reversed chargeback is its own event).
        return _refuse(transaction, target)
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
