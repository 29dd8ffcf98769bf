"""Fifth adversarial review of issue 13 (commits bab0de1, 4aadb94): Stripe's
running totals read against refund failures by event time. Reproducers against
lifecycle.decide with the card-counting World of
test_reversals_against_the_card. Each test asserts the CORRECT outcome; a
failing test is a finding. None of them is the declared xfail (a failure
delivered after a total made later): every failure here is delivered before
any total made after it."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.positions import deposit_money
from cashier_core.signals import ProviderReport
from tests.unit.cashier_core.test_reversals_against_the_card import A, E, World


def _total(world: World, total: str, at: int) -> object:
    """Stripe's charge.refunded: the running total, made at `at`."""
    return world.send(
        ProviderReport(
            "stripe",
            E.REFUND,
            "charge.refunded",
            Decimal(total),
            "USD",
            movement_reference=f"refunds-to:{Decimal(total)}",
            cumulative=True,
            occurred_at=at,
        )
    )


def _failed(world: World, refund_id: str, amount: str, at: int) -> object:
    """Stripe's refund.failed (or charge.refund.updated, status failed): one refund's amount."""
    return world.send(
        ProviderReport(
            "stripe",
            E.REFUND_FAILED,
            "refund.failed",
            Decimal(amount),
            "USD",
            movement_reference=f"{refund_id}:failed",
            occurred_at=at,
        )
    )


def _history(world: World) -> str:
    return "; ".join(c.reason for c in world.tx.history)


def test_a_refund_failure_larger_than_the_refunds_recorded_keeps_its_whole_amount() -> None:
    """Stripe, in time order: re_1 (10) made at 1 (total 10); re_2 (30) made at
    2 (total 40); re_2 fails at 3 (the card keeps 10). Delivered: total 10,
    re_2's failure, then total 40 (made before the failure: Stripe does not
    order deliveries; allowed, the failure is delivered before every total
    made after it). The failure finds only 10 of refunds recorded: it
    reinstates 10 and keeps only 10 in failed_refunds, forgetting the other 20
    of re_2. The total 40 then subtracts only 10 of the failed refund and
    reverses 30: re_2's 30 is taken from the customer although it came back
    to the merchant. The customer ends with 70, the card with 10: 20 lost,
    and the only alarm is the routine 're-credit after review'."""
    world = World(provider="stripe")
    _total(world, "10.00", at=1)
    world.card += Decimal("10.00")  # re_1
    world.card += Decimal("30.00")  # re_2 (made at 2; its total is in flight)
    _failed(world, "re_2", "30.00", at=3)
    world.card -= Decimal("30.00")
    _total(world, "40.00", at=2)
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}; {_history(world)}"
    )


def test_a_total_made_before_a_failure_does_not_hide_the_same_total_made_after_it() -> None:
    """Stripe, in time order: re_1 (10) at 1 (total 10); re_2 (10) at 2 (total
    20); re_1 fails at 3 (total 10); re_3 (10) at 4 (total 20 again). The card
    holds 20 (re_2, re_3). Delivered: total 10, re_1's failure, total 20 made
    at 2, total 20 made at 4 (every failure delivered before the totals made
    after it). The total made at 2 is read against the failure (10 of it was
    re_1) and reverses 10 under the reference 'refunds-to:20#after-1-failed';
    the total made at 4, a new refund, gets the same reference and is dropped
    as 'recorded'. re_3's 10 is on the card AND stays on the account: paid
    twice, no person alarmed about it."""
    world = World(provider="stripe")
    _total(world, "10.00", at=1)
    world.card += Decimal("10.00")  # re_1
    world.card += Decimal("10.00")  # re_2 (made at 2)
    _failed(world, "re_1", "10.00", at=3)
    world.card -= Decimal("10.00")
    _total(world, "20.00", at=2)
    world.card += Decimal("10.00")  # re_3 (made at 4)
    late = _total(world, "20.00", at=4)
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}; the total made at 4 was "
        f"{late.outcome.value}: {late.note}"  # type: ignore[attr-defined]
    )
    assert deposit_money(world.tx).owed + world.card == A


def _confirmed_not_credited() -> World:
    """A 100 Stripe deposit confirmed and not credited yet (its credit waits
    on the queue, or failed and waits for a retry)."""
    from cashier_core.models import StatusChange, Transaction
    from cashier_core.statuses import Status, TransactionType
    from tests.unit.cashier_core.test_reversals_against_the_card import T0

    world = World.__new__(World)
    world.tx = Transaction(
        transaction_id="txn-r5", type=TransactionType.DEPOSIT, customer_id="cus",
        account_id="acc", brand_id="b", method_id="card", provider="stripe",
        amount=A, currency="USD", status=Status.PROVIDER_CONFIRMED, created_at=T0,
        updated_at=T0,
        history=(StatusChange(status=Status.PROVIDER_CONFIRMED, at=T0, reason="", source="t"),),
        version=1,
    )  # fmt: skip
    world.provider = "stripe"
    world.ledger = Decimal(0)
    world.entry_ids = set()
    world.card = Decimal(0)
    world.alarms = 0
    return world


def test_a_refund_failure_delivered_first_before_the_credit_is_kept_too() -> None:
    """The deposit is confirmed; its credit still waits on the queue. re_1 (30)
    is made at 1 and fails at 2; refund.failed is delivered first. Only a
    credited or in-review deposit keeps it (_refund_failed_first): here nothing
    is kept, a person is asked to 'check the provider' (who finds nothing to
    do: no refund is recorded, the deposit is not even credited yet). Then the
    total 30 made at 1 arrives: no failure is on record, so 30 is taken before
    the credit, and the credit pays 70. The card holds nothing: 30 lost."""
    world = _confirmed_not_credited()
    world.card += Decimal("30.00")
    _failed(world, "re_1", "30.00", at=2)
    world.card -= Decimal("30.00")
    _total(world, "30.00", at=1)
    world.settle()
    world.check_books()
    assert world.ledger + world.card == A, (
        f"account {world.ledger} + card {world.card} != {A}; {_history(world)}"
    )


def test_a_failed_return_to_source_refund_larger_than_the_refunds_recorded_is_not_lost() -> None:
    """The same as the first finding on a return-to-source payout: an ordinary
    refund of 20 (total 20, made at 1) is recorded; a 30 withdrawal is routed
    back to the card and its payout refund re_2 (30, total 50, made at 2)
    fails at 3; the failure is delivered before the total 50. The failure can
    re-credit only the 20 standing and keeps only 20 as failed; the total 50
    then returns 30 - 20 = 10 more than it should. Account - hold + card +
    what the operator still has to pay back ends at 90, not 100."""
    from tests.unit.cashier_core.test_reversals_against_the_card import RoutedWorld

    world = RoutedWorld("stripe")
    _total(world, "20.00", at=1)
    world.card += Decimal("20.00")
    world.approve(Decimal("30.00"))
    world.card += Decimal("30.00")  # the payout's refund re_2 (made at 2)
    _failed(world, "re_2", "30.00", at=3)
    world.card -= Decimal("30.00")
    _total(world, "50.00", at=2)
    world.settle()
    world.check_books()
    money = deposit_money(world.tx)
    total = world.ledger - world.held + world.card + money.awaiting_return
    assert total == A, f"{total} != {A}; {_history(world)}"
