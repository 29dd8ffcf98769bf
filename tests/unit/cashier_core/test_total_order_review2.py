"""Adversarial review 2 of the Stripe running-total change (53d34b4..692bc4b):
the findings fixed (a total kept while the credit waits; an amountless
reversal before the credit never recorded as a negative amount), kept.

Reproducers against lifecycle.decide with the card-counting World of
tests/unit/cashier_core/test_reversals_against_the_card. Each test asserts the
CORRECT money outcome; a failing test is a finding."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.lifecycle import CreditAttempt, CreditRefused, OperatorAction, OperatorActionKind
from cashier_core.positions import deposit_money
from cashier_core.statuses import Status
from tests.unit.cashier_core.test_reversal_failure_order import (
    _confirmed_not_credited,
    _failed,
    _total,
)
from tests.unit.cashier_core.test_reversals_against_the_card import A, E, World

E_REINSTATED, E_CHARGEBACK = E.REINSTATED, E.CHARGEBACK

S = Status
D = Decimal


def _history(world: World) -> str:
    return "; ".join(
        f"[{c.status.api_name} {c.money_effect} {c.money_amount} total={c.money_total}"
        f"@{c.money_occurred_at}] {c.reason}"
        for c in world.tx.history
    )


def test_a_later_total_delivered_while_the_credit_failed_is_kept_for_a_late_failure() -> None:
    """Stripe. The deposit is confirmed; its credit is refused (account
    suspended: credit_failed, a person retries later). In time order: re_1 (10)
    at 1 (total 10); re_1 fails at 2; re_2 (10) at 3 (total 10 again). The card
    holds 10 (re_2): the account must end with 90.

    Delivered: total 10 @1 (10 before the credit: manual_review; a person
    credits, the credit is refused again: credit_failed), total 10 @3 (moves
    nothing), the person retries the credit (90), re_1's failure @2 last.

    `_total_seen` keeps a total only where the status may move to itself
    (`_records_itself`): credit_failed (and provider_confirmed) may not, so
    the total made at 3 is dropped as ALREADY. The failure then finds only the
    total made at 1 (before it) and gives 10 back: the person re-credits it and
    re_2's 10 is paid twice (account 100 + card 10 = 110)."""
    world = _confirmed_not_credited()
    world.send(CreditRefused("account_suspended", "suspended"))
    assert world.tx.status is S.CREDIT_FAILED
    _total(world, "10.00", at=1)
    assert world.tx.status is S.MANUAL_REVIEW
    world.send(OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT))
    world.send(CreditRefused("account_suspended", "suspended"))
    assert world.tx.status is S.CREDIT_FAILED
    _total(world, "10.00", at=3)
    world.send(OperatorAction(OperatorActionKind.RETRY_FAILED_CREDIT))
    world.send(CreditAttempt())
    assert world.ledger == D("90.00")
    _failed(world, "re_1", "10.00", at=2)
    world.card += D("10.00")  # re_2
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}; " + _history(world)
    )


def test_a_later_total_delivered_while_a_person_credit_waits_on_the_queue_is_kept() -> None:
    """As above, in provider_confirmed: a person credited the reviewed deposit
    and the credit message waits on the queue when the total made at 3 comes.
    re_1 (10) at 1 (total 10); re_1 fails at 2; re_2 (10) at 3 (total 10).
    Delivered: total @1 (manual_review, 10 before the credit), person credits
    (provider_confirmed), total @3 (dropped), credit (90), failure @2 (10 back
    again): account 100 + card 10 = 110."""
    world = _confirmed_not_credited()
    _total(world, "10.00", at=1)
    assert world.tx.status is S.MANUAL_REVIEW
    world.send(OperatorAction(OperatorActionKind.CREDIT_REVIEWED_DEPOSIT))
    assert world.tx.status is S.PROVIDER_CONFIRMED
    _total(world, "10.00", at=3)
    world.send(CreditAttempt())
    _failed(world, "re_1", "10.00", at=2)
    world.card += D("10.00")  # re_2
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}; " + _history(world)
    )


def _dispute(world: World, dispute_id: str, amount: str, at: int) -> object:
    from cashier_core.signals import ProviderReport
    from tests.unit.cashier_core.test_reversals_against_the_card import E

    return world.send(
        ProviderReport("stripe", E.CHARGEBACK, "charge.dispute.created", D(amount), "USD",
                       movement_reference=f"{dispute_id}:withdrawn", occurred_at=at)
    )  # fmt: skip


def test_an_amountless_reversal_never_records_a_negative_movement_by_the_legacy_reading() -> None:
    """Stripe, credited. re_1 50 @1, re_2 40 @2, re_3 10 @3 (totals 50, 90,
    100: refunded); re_1 fails @4 (50 back: manual_review, owed 50); a dispute
    dp_1 of 80 @5 (more than owed: recorded whole, chargeback, owed -30);
    re_3 fails @6 (10 back: manual_review, owed -20). Then a charge.refunded
    whose Charge carries no amount_refunded and no currency (a shape the
    parser does not expect: amount and currency None, read as "all that is
    left"). _reversal_before_credit takes asked = owed = -20, and since
    `taken > 0` is false writes the move into `refunded` with NO money record
    -- which deposit_money reads as a legacy change (manual_review ->
    refunded) that took back `owed` = -20: a negative reversal that silently
    lifts owed from -20 to 0 (no person: asked > owed is false). dp_1 is then
    won (80 back): the person re-credits 80, but the card holds re_2's 40:
    account 80 + card 40 = 120. The change's claim 'never as a negative
    amount' does not hold for a move with no money record."""
    from cashier_core.signals import ProviderReport
    from tests.unit.cashier_core.test_reversals_against_the_card import E

    world = World(provider="stripe")
    _total(world, "50.00", at=1)
    _total(world, "90.00", at=2)
    _total(world, "100.00", at=3)
    assert world.tx.status is S.REFUNDED
    _failed(world, "re_1", "50.00", at=4)
    _dispute(world, "dp_1", "80.00", at=5)
    assert world.tx.status is S.CHARGEBACK
    _failed(world, "re_3", "10.00", at=6)
    assert world.tx.status is S.MANUAL_REVIEW
    assert deposit_money(world.tx).owed == D("-20.00")
    world.send(ProviderReport("stripe", E.REFUND, "charge.refunded", None, None,
                              cumulative=True, occurred_at=7))  # fmt: skip
    negative = deposit_money(world.tx).reversed_before_credit
    world.send(ProviderReport("stripe", E.REINSTATED, "charge.dispute.funds_reinstated",
                              D("80.00"), "USD", movement_reference="dp_1:reinstated",
                              reinstates="dp_1:withdrawn", occurred_at=8))  # fmt: skip
    world.card += D("40.00")  # re_2 stands; dp_1 was won
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"before-credit reversals read as {negative} (80 recorded); "
        f"account {world.ledger} + card {world.card} != {A}; " + _history(world)
    )
