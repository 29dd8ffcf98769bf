"""What an operator's action does: the BackOffice rules of lifecycle.decide.

Only a person takes a deposit out of review or onto the credit path again, and
only a person moves a withdrawal; each action names the one transaction type it
is for. A repeat of what already holds is ALREADY (answered applied=false).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from cashier_core.models import LedgerKind, Transaction
from cashier_core.moves import (
    FieldValue,
    LedgerMovement,
    Move,
    Outcome,
    RouteShare,
    already,
    apply,
    money_text,
    refuse,
)
from cashier_core.positions import deposit_money, routed_back
from cashier_core.return_to_source import BY_WITHDRAWAL_METHOD
from cashier_core.signals import OperatorAction, OperatorActionKind
from cashier_core.statuses import PublicReason, Status, TransactionType

S = Status
R = PublicReason
# The stable codes of this module's refusals (errors.py has each as an error).
SECOND_APPROVER_REQUIRED = "second_approver_required"
ROUTE_NOT_APPROVED = "route_not_approved"
PAYOUT_REFERENCE_REQUIRED = "payout_reference_required"
PAYOUT_RETURNED_TO_SOURCE = "payout_returned_to_source"

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
            return _approve_withdrawal(transaction, action)
        case OperatorActionKind.REJECT_WITHDRAWAL:
            if status is S.CANCELLED:
                return already(transaction)
            code = R.WITHDRAWAL_DECLINED
            return person(S.CANCELLED, code, note, LedgerKind.HOLD_RELEASE)
        case OperatorActionKind.FAIL_PAYOUT:
            return _fail_payout(transaction, action)
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
            money = deposit_money(transaction)
            if money.on_account > 0 or (money.reinstated > 0 and money.to_credit > 0):
                # Credited money is on the account, or money that came back
                # after a reversal is owed: "failed" would strand it. A person
                # credits (settles what is owed) instead.
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


def _approve_withdrawal(transaction: Transaction, action: OperatorAction) -> Move:  # noqa: PLR0911 - one per refusal
    """Paid out (manual_review -> provider_confirmed), the hold stays debited.
    Four eyes: above the threshold the first approval records its route and
    reference and the withdrawal keeps waiting; a different principal completes
    that same route (naming another is route_not_approved). The completing
    approval writes the route's shares on its deposits."""
    status, note = transaction.status, action.note
    if status is S.PROVIDER_CONFIRMED:
        return already(transaction)
    route = action.payout_route
    first = transaction.first_approved_by
    # A four-eyes approval once begun completes as one, whatever the threshold now.
    if status is S.MANUAL_REVIEW and (
        first is not None or _needs_two_approvals(transaction, action)
    ):
        if first is None:
            return _first_approval(transaction, action)
        # The same person in another spelling is the same person.
        if first.casefold() == action.principal.casefold():
            return _refusal(
                transaction,
                f"{first} approved first; a second approver is required",
                SECOND_APPROVER_REQUIRED,
            )
        approved = transaction.payout_route
        if route is not None and not _same_route(route, approved):
            return _refusal(
                transaction, f"{first} approved route {approved}, not {route}", ROUTE_NOT_APPROVED
            )
        route = approved
        second = f"second approval, first by {first}"
        note = f"{second}: {note}" if note else second
    text = f"approved for payout: {note}" if note else "approved for payout"
    move = apply(transaction, S.PROVIDER_CONFIRMED, R.WITHDRAWAL_APPROVED, text, by_operator=True)
    if not move.writes:
        return move
    reference = action.payout_reference or transaction.provider_reference
    if reference is None:
        return _refusal(transaction, "no payout reference", PAYOUT_REFERENCE_REQUIRED)
    fields: dict[str, FieldValue] = {"provider_reference": reference, "payout_route": route}
    shares = _route_shares(transaction, route, action.route_deposits)
    return replace(move, set_fields=fields, route_shares=shares)


def _fail_payout(transaction: Transaction, action: OperatorAction) -> Move:
    """The payout did not reach the customer: failed, and the hold goes back.
    A paid-out route's shares leave its deposits with it, except what the
    provider already reported returned of this withdrawal's share (the card
    has that money): it stays paid, and only the rest of the hold goes back.
    What a deposit returned is counted against the other withdrawals' shares
    first: failing this one says its own payout did not happen. All of it
    returned: nothing to fail (payout_returned_to_source)."""
    if transaction.status is S.FAILED:
        return already(transaction)
    move = apply(
        transaction,
        S.FAILED,
        R.PAYOUT_FAILED,
        action.note,
        by_operator=True,
        ledger=LedgerKind.HOLD_RELEASE,
    )
    if not move.writes or transaction.status is not S.PROVIDER_CONFIRMED:
        return move
    kept = _returned_of_share(transaction, action.route_deposits)
    returned = sum(kept.values(), Decimal(0))
    if returned >= transaction.amount:
        said = "the provider reported all of this payout's route returned to source"
        return _refusal(transaction, said, PAYOUT_RETURNED_TO_SOURCE, S.FAILED)
    shares = _route_shares(transaction, transaction.payout_route, action.route_deposits, kept)
    if returned == 0:
        return replace(move, route_shares=shares)
    currency = transaction.currency
    note = (
        f"{action.note}: {money_text(returned, currency)} was returned to source and stays"
        f" paid; {money_text(transaction.amount - returned, currency)} goes back"
    )
    release = LedgerMovement(LedgerKind.HOLD_RELEASE, transaction.amount - returned)
    return replace(move, note=note, ledger=release, route_shares=shares)


def _returned_of_share(
    withdrawal: Transaction, deposits: Sequence[Transaction]
) -> dict[str, Decimal]:
    """Of this withdrawal's share on each routed deposit, what the provider
    reported returned, counting the deposit's returns against the other
    withdrawals' shares first."""
    kept: dict[str, Decimal] = {}
    for deposit in deposits:
        share = Decimal((deposit.payout_returns or {}).get(withdrawal.transaction_id, "0"))
        others = routed_back(deposit) - share
        mine = min(share, max(deposit_money(deposit).returned_to_source - others, Decimal(0)))
        if mine > 0:
            kept[deposit.transaction_id] = mine
    return kept


def _route_shares(
    withdrawal: Transaction,
    route: Mapping[str, str] | None,
    deposits: Sequence[Transaction],
    kept: Mapping[str, Decimal] | None = None,
) -> tuple[RouteShare, ...]:
    """Each routed deposit's payout_returns with this withdrawal's share set to
    the route's amount (kept None: an approval), or else cut to what `kept`
    keeps of it (a failure), pinned to the version the deposit was read at."""
    if not route:
        return ()
    by_id = {d.transaction_id: d for d in deposits}
    shares = []
    for deposit_id, amount in route.items():
        if deposit_id == BY_WITHDRAWAL_METHOD:
            continue
        deposit = by_id.get(deposit_id)
        if deposit is None:
            # The caller reads every deposit its route names; a missing one is a bug.
            raise ValueError(f"route deposit {deposit_id} was not read")
        returns = dict(deposit.payout_returns or {})
        if kept is None:
            returns[withdrawal.transaction_id] = amount
        elif deposit_id in kept:
            returns[withdrawal.transaction_id] = f"{kept[deposit_id]:f}"
        else:
            returns.pop(withdrawal.transaction_id, None)
        shares.append(RouteShare(deposit_id, deposit.version, returns))
    return tuple(shares)


def _same_route(route: Mapping[str, str], approved: Mapping[str, str] | None) -> bool:
    """The same parts and amounts ("30" is "30.00"); both were checked already."""
    if approved is None:
        return False
    return _amounts(route) == _amounts(approved)


def _amounts(route: Mapping[str, str]) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in route.items()}


def _refusal(
    transaction: Transaction, note: str, code: str, target: Status = S.PROVIDER_CONFIRMED
) -> Move:
    return replace(refuse(transaction, target), note=note, refusal=code)


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
        proposed: dict[str, FieldValue] = {
            "first_approved_by": action.principal,
            "payout_route": action.payout_route,
            "provider_reference": action.payout_reference,
        }
        return replace(move, set_fields={k: v for k, v in proposed.items() if v is not None})
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
