"""What an operator's action does: the BackOffice rules of lifecycle.decide.

Only a person takes a deposit out of review or onto the credit path again, and
only a person moves a withdrawal; each action names the one transaction type it
is for. A repeat of what already holds is ALREADY (answered applied=false).
"""

from __future__ import annotations

from dataclasses import replace

from cashier_core.models import LedgerKind, Transaction
from cashier_core.moves import FieldValue, Move, Outcome, already, apply, money_text, refuse
from cashier_core.positions import deposit_money
from cashier_core.signals import OperatorAction, OperatorActionKind
from cashier_core.statuses import PublicReason, Status, TransactionType

S = Status
R = PublicReason
SECOND_APPROVER_REQUIRED = "second_approver_required"  # errors.SecondApproverRequired.code

_ACTION_TYPES: dict[OperatorActionKind, TransactionType] = {
    OperatorActionKind.APPROVE_WITHDRAWAL: TransactionType.WITHDRAWAL,
    OperatorActionKind.REJECT_WITHDRAWAL: TransactionType.WITHDRAWAL,
    OperatorActionKind.FAIL_PAYOUT: TransactionType.WITHDRAWAL,
    OperatorActionKind.CREDIT_REVIEWED_DEPOSIT: TransactionType.DEPOSIT,
    OperatorActionKind.REJECT_REVIEWED_DEPOSIT: TransactionType.DEPOSIT,
    OperatorActionKind.RETRY_FAILED_CREDIT: TransactionType.DEPOSIT,
    OperatorActionKind.CONFIRM_BANK_WIRE: TransactionType.DEPOSIT,
}


def decide_operator_action(transaction: Transaction, action: OperatorAction) -> Move:  # noqa: PLR0911, PLR0912
    kind, status, note = action.kind, transaction.status, action.note
    if transaction.type is not _ACTION_TYPES[kind]:
        return Move(Outcome.IGNORE, note=f"{kind.value} is not for a {transaction.type}")

    def person(
        target: Status, code: PublicReason, text: str, ledger: LedgerKind | None = None
    ) -> Move:
        return apply(transaction, target, code, text, by_operator=True, ledger=ledger)

    match kind:
        case OperatorActionKind.APPROVE_WITHDRAWAL:
            if status is S.PROVIDER_CONFIRMED:
                return already(transaction)
            if _needs_two_approvals(transaction, action) and status is S.MANUAL_REVIEW:
                first = transaction.first_approved_by
                if first is None:
                    return _first_approval(transaction, action)
                # The same person in another spelling is the same person.
                if first.casefold() == action.principal.casefold():
                    return replace(
                        refuse(transaction, S.PROVIDER_CONFIRMED),
                        note=f"{first} approved first; a second approver is required",
                        refusal=SECOND_APPROVER_REQUIRED,
                    )
                second = f"second approval, first by {first}"
                note = f"{second}: {note}" if note else second
            text = f"approved for payout: {note}" if note else "approved for payout"
            move = person(S.PROVIDER_CONFIRMED, R.WITHDRAWAL_APPROVED, text)
            if move.writes:
                fields: dict[str, FieldValue] = {
                    "provider_reference": action.payout_reference,
                    "payout_route": action.payout_route,
                }
                return replace(move, set_fields=fields)
            return move
        case OperatorActionKind.REJECT_WITHDRAWAL:
            if status is S.CANCELLED:
                return already(transaction)
            code = R.WITHDRAWAL_DECLINED
            return person(S.CANCELLED, code, note, LedgerKind.HOLD_RELEASE)
        case OperatorActionKind.FAIL_PAYOUT:
            if status is S.FAILED:
                return already(transaction)
            return person(S.FAILED, R.PAYOUT_FAILED, note, LedgerKind.HOLD_RELEASE)
        case OperatorActionKind.CREDIT_REVIEWED_DEPOSIT:
            if status in (S.PROVIDER_CONFIRMED, S.CREDITED):
                return already(transaction)
            if status is not S.MANUAL_REVIEW:
                return refuse(transaction, S.PROVIDER_CONFIRMED)
            return person(S.PROVIDER_CONFIRMED, R.REVIEW_APPROVED, f"credited after review: {note}")
        case OperatorActionKind.REJECT_REVIEWED_DEPOSIT:
            if status is S.FAILED:
                return already(transaction)
            if status is not S.MANUAL_REVIEW:
                return refuse(transaction, S.FAILED)
            if deposit_money(transaction).on_account > 0:
                # Credited money is on the account: "failed" would strand it
                # there. A person credits (settles what is owed) instead.
                return refuse(transaction, S.FAILED)
            return person(S.FAILED, R.REVIEW_DECLINED, f"rejected after review: {note}")
        case OperatorActionKind.RETRY_FAILED_CREDIT:
            if status in (S.PROVIDER_CONFIRMED, S.CREDITED):
                return already(transaction)
            if status is not S.CREDIT_FAILED:
                return refuse(transaction, S.PROVIDER_CONFIRMED)
            return person(S.PROVIDER_CONFIRMED, R.PAYMENT_CONFIRMED, f"credit retried: {note}")
        case OperatorActionKind.CONFIRM_BANK_WIRE:
            return _bank_wire(transaction, action)
    raise TypeError(f"unknown operator action {kind!r}")  # pragma: no cover


def _needs_two_approvals(transaction: Transaction, action: OperatorAction) -> bool:
    """Four eyes: above the brand's threshold for the currency (none set: one is enough)."""
    threshold = action.second_approval_over
    return threshold is not None and transaction.amount > threshold


def _first_approval(transaction: Transaction, action: OperatorAction) -> Move:
    """Recorded and audited; the withdrawal keeps waiting (manual_review -> manual_review,
    pinned to the version like every write) for a different principal."""
    said = f"first approval by {action.principal}; waiting for a second approver"
    text = f"{said}: {action.note}" if action.note else said
    move = apply(transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, text, by_operator=True)
    if move.writes:
        return replace(move, set_fields={"first_approved_by": action.principal})
    return move


def _bank_wire(transaction: Transaction, action: OperatorAction) -> Move:
    """A wire arrived: its own amount confirms a waiting deposit; any other amount,
    or a wire after failed/cancelled, goes to a person."""
    status = transaction.status
    if action.amount is None or action.currency is None:
        return refuse(transaction, S.PROVIDER_CONFIRMED)
    received = money_text(action.amount, action.currency)
    matches = action.amount == transaction.amount and action.currency == transaction.currency
    if matches and status in (S.PROVIDER_CONFIRMED, S.CREDITED):
        return already(transaction)
    if matches and status is S.PENDING_PAYMENT:
        text = f"wire of {received} received: {action.note}"
        return apply(transaction, S.PROVIDER_CONFIRMED, R.PAYMENT_CONFIRMED, text, by_operator=True)
    if status is S.MANUAL_REVIEW:
        return already(transaction)
    expected = money_text(transaction.amount, transaction.currency)
    why = (
        f"wire of {received} received, expected {expected}"
        if not matches
        else f"wire of {received} received after {status.api_name}"
    )
    if status not in (S.PENDING_PAYMENT, S.FAILED, S.CANCELLED):
        return refuse(transaction, S.MANUAL_REVIEW)
    return apply(
        transaction, S.MANUAL_REVIEW, R.UNDER_REVIEW, f"{why}: {action.note}", by_operator=True
    )
