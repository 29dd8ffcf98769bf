"""Adversarial review of 53d34b4 (Stripe running totals kept with their time;
that commit also recorded named reversals after refunded/chargeback against
what is owed, a path since taken out: see test_failure_after_a_later_total's
xfail). Findings 1, 2 and 4 are fixed and kept here; finding 3 belonged to the
path taken out.

Reproducers against lifecycle.decide with the card-counting World of
tests/unit/cashier_core/test_reversals_against_the_card. Each test asserts the
CORRECT money outcome (account + card == the deposit once a person has
re-credited exactly deposit_money(tx).to_credit); a failing test is a finding.
"""

from __future__ import annotations

from decimal import Decimal

from cashier_core.signals import ProviderReport
from cashier_core.statuses import Status
from tests.unit.cashier_core.test_reversal_failure_order import _failed, _total
from tests.unit.cashier_core.test_reversals_against_the_card import A, E, World

S = Status
D = Decimal


def _dispute(world: World, dispute_id: str, amount: str, at: int) -> object:
    """Stripe's charge.dispute.created (a dispute, not an inquiry)."""
    return world.send(
        ProviderReport(
            "stripe",
            E.CHARGEBACK,
            "charge.dispute.created",
            D(amount),
            "USD",
            movement_reference=f"{dispute_id}:withdrawn",
            occurred_at=at,
        )
    )


def _history(world: World) -> str:
    return "; ".join(f"[{c.status.api_name}] {c.reason}" for c in world.tx.history)


# --- Finding 1 ----------------------------------------------------------------
def test_a_later_total_reaching_a_charged_back_deposit_is_kept_for_a_late_failure() -> None:
    """Stripe, in time order: re_1 (30) made at 1 (total 30); re_1 fails at 2;
    the merchant refunds again, re_2 (30) made at 3 (total 30 again: re_1 is
    left out); the cardholder disputes the other 70 at 4. The card holds 100
    (re_2 + the dispute): nothing is owed to the account.

    Delivered: total 30 @1 (30 reversed), the dispute @4 (70 reversed: the
    deposit is now `chargeback`), total 30 @3, re_1's failure @2.

    The total made at 3 is exactly what the change keeps to read a late failure
    by, but `_total_seen` kept it only in credited / manual_review / refunded
    (chargeback -> chargeback was not in the table): in
    `chargeback` it is ALREADY and dropped. The failure then finds only the
    total made at 1 (before it), so all 30 comes back "re-credit after review"
    and the person's credit pays re_1's 30 a second time (account 30 + card
    100 = 130). The same hole exists while the deposit is provider_confirmed
    or credit_failed (a person's re-credit waiting on the queue)."""
    world = World(provider="stripe")
    _total(world, "30.00", at=1)
    _dispute(world, "dp_1", "70.00", at=4)
    assert world.tx.status is S.CHARGEBACK
    _total(world, "30.00", at=3)
    _failed(world, "re_1", "30.00", at=2)
    world.card += D("30.00") + D("70.00")  # re_2 and the dispute
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}: re_1's 30 was paid twice; "
        + _history(world)
    )


# --- Finding 2 ----------------------------------------------------------------
def test_a_dispute_above_what_is_owed_before_the_re_credit_nets_against_a_late_failure() -> None:
    """Stripe, in time order: re_1 (50) at 1 (total 50), re_2 (50) at 2 (total
    100): all refunded. re_1 fails at 3, re_2 fails at 4 (the card holds
    nothing of the refunds), then the cardholder disputes 80 at 5. The card
    holds 80: the account must end with 20.

    Delivered: 50, 100, re_1's failure (50 back: manual_review, owed 50), the
    dispute (80), re_2's failure last.

    The change records a named reversal beyond the account "against what is
    owed, so a failure's money nets against it" -- but only from
    refunded/chargeback (_reversal_on_account). In manual_review with nothing
    on the account the dispute goes to _reversal_before_credit, which records
    min(80, owed 50) and drops the other 30 (a bare alarm, note
    "provider reported charge.dispute.created"). re_2's failure then returns
    50 whole and the person re-credits 50: the dispute's 30 is paid twice
    (account 50 + card 80 = 130). This is the counterexample hypothesis finds
    in test_model_stripe_running_totals_... (.hypothesis database) once the
    card model holds failures."""
    world = World(provider="stripe")
    _total(world, "50.00", at=1)
    _total(world, "100.00", at=2)
    _failed(world, "re_1", "50.00", at=3)
    assert world.tx.status is S.MANUAL_REVIEW
    _dispute(world, "dp_1", "80.00", at=5)
    _failed(world, "re_2", "50.00", at=4)
    world.card += D("80.00")  # the dispute
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}: the dispute's excess was "
        "dropped and the late failure re-credited whole; " + _history(world)
    )


# --- Finding 4 (same root as 2, made worse by the new path) ---------------------
def test_a_second_chargeback_after_refund_and_chargeback_never_records_a_negative_amount() -> None:
    """Adyen (movements named): the whole deposit is REFUNDed (r1, 100); the
    cardholder disputes it anyway: CHARGEBACK d1 (100). The merchant defends,
    CHARGEBACK_REVERSED gives the 100 back, the issuer answers with a
    SECOND_CHARGEBACK (100). Deliveries are not ordered: the second chargeback
    arrives before the reversal. The card ends with 200 (refund + second
    chargeback) of a 100 deposit: nothing may be credited to the account.

    New path: the chargeback on a refunded deposit is recorded against what is
    owed, the deposit goes to manual_review with owed = -100. The second
    chargeback then finds manual_review with nothing on the account and goes to
    _reversal_before_credit, which records min(asked, owed) =
    REVERSED_BEFORE_CREDIT **-100**: a negative money record that erases the
    first chargeback's. The reversal then brings owed to +100 and the person's
    re-credit pays 100 the card already holds twice. Before 53d34b4 both
    chargebacks were refused (person alarmed) and nothing was credited."""
    world = World(provider="adyen")
    world.report(E.REFUND, "100.00", movement_reference="r1:REFUND")
    world.report(E.CHARGEBACK, "100.00", movement_reference="d1:CHARGEBACK")
    world.report(E.CHARGEBACK, "100.00", movement_reference="d1:SECOND_CHARGEBACK")
    world.report(E.REINSTATED, "100.00", movement_reference="d1:CHARGEBACK_REVERSED",
                 reinstates="d1:CHARGEBACK")  # fmt: skip
    negative = [c for c in world.tx.history if c.money_amount is not None and c.money_amount < 0]
    world.settle()
    world.check_books()
    assert not negative, (
        f"negative money recorded: {[(c.money_effect, c.money_amount) for c in negative]}"
    )
    assert world.ledger == 0, f"re-credited {world.ledger} of money the card holds; " + _history(
        world
    )
