"""Return to source is paid by refunding the card deposit at the provider; the
provider then reports that refund. Through the real handlers against moto:
the account pays once (the withdrawal's hold), only a refund beyond what the
routes await is reversed, and a route's shares on its deposits come and go
with the payout."""

from __future__ import annotations

from decimal import Decimal

from cashier_core.backoffice_schemas import OperatorTransaction
from cashier_core.positions import deposit_money
from cashier_core.statuses import Status
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import approve, balance, credited, ledger_sum, withdraw

START = Decimal("100.00")  # Alice's seeded USD balance


def _paid_back(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice, deposit: str, amount: str
) -> str:
    """A withdrawal of `amount`, approved with all of it routed back to `deposit`."""
    withdrawal = withdraw(api, amount)
    status, body = approve(backoffice, withdrawal, route={deposit: amount})
    assert status == 200, body
    return withdrawal


def _refund(lifecycle: Lifecycle, deposit_id: str, amount: str, **extra: str) -> int:
    deposit = lifecycle.transaction(deposit_id)
    return lifecycle.sandbox_webhook(
        lifecycle.sandbox_body(deposit, "refunded", amount=amount, **extra)
    )[0]


def test_the_approval_writes_the_routes_share_on_the_deposit(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    withdrawal = _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "20.00")
    stored = lifecycle.transaction(deposit.transaction_id)
    assert stored.payout_returns == {withdrawal: "20.00"}
    assert stored.version == deposit.version + 1
    assert stored.status is Status.CREDITED
    # BackOffice's view of a deposit shows the share, and what came back of it.
    shown = OperatorTransaction.of(stored)
    assert (shown.payout_returns, shown.returned_to_source_amount) == (
        {withdrawal: "20.00"},
        "0.00",
    )


def test_a_partial_return_then_its_refund_leaves_the_deposit_credited_and_debits_nothing(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "10.00")
    assert balance(api) == START + Decimal("20.00")
    assert _refund(lifecycle, deposit.transaction_id, "10.00") == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    money = deposit_money(stored)
    assert (stored.status, stored.history[-1].code) == (Status.CREDITED, "partially_refunded")
    assert (money.returned_to_source, money.reversed, money.awaiting_return) == (
        Decimal("10.00"),
        Decimal(0),
        Decimal(0),
    )
    assert balance(api) == START + Decimal("20.00") == ledger_sum(api)


def test_a_refund_beyond_the_route_reverses_only_the_rest(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """30.00 deposited, 10.00 routed back; the merchant refunds all 30.00 at
    once: 10.00 is the payout, 20.00 leaves the account as a refund."""
    deposit = credited(lifecycle, "30.00")
    _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "10.00")
    assert _refund(lifecycle, deposit.transaction_id, "30.00") == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    money = deposit_money(stored)
    assert stored.status is Status.REFUNDED
    assert (money.returned_to_source, money.reversed) == (Decimal("10.00"), Decimal("20.00"))
    assert balance(api) == START == ledger_sum(api)


def test_the_same_refund_delivered_again_changes_nothing(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "30.00")
    body = lifecycle.sandbox_body(
        lifecycle.transaction(deposit.transaction_id), "refunded", amount="30.00"
    )
    assert lifecycle.sandbox_webhook(body)[0] == 200
    assert lifecycle.sandbox_webhook(body)[0] == 200
    again = _refund(lifecycle, deposit.transaction_id, "30.00")  # a new event, same report
    assert again == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    assert stored.status is Status.REFUNDED
    assert deposit_money(stored).reversed == 0
    assert balance(api) == START == ledger_sum(api)


def test_a_chargeback_of_a_routed_deposit_is_the_payouts_return_then_a_reversal(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """30.00 deposited, 20.00 routed back by a payout; a chargeback of the whole
    30.00 gave the card the payout's 20.00 (the hold paid it) and takes only
    the other 10.00 from the account."""
    deposit = credited(lifecycle, "30.00")
    _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "20.00")
    chargeback = lifecycle.sandbox_body(
        lifecycle.transaction(deposit.transaction_id), "chargeback", amount="30.00"
    )
    assert lifecycle.sandbox_webhook(chargeback)[0] == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    money = deposit_money(stored)
    assert (money.reversed, money.charged_back_to_source) == (Decimal("10.00"), Decimal("20.00"))
    assert stored.status is Status.CHARGEBACK
    assert balance(api) == START == ledger_sum(api)


def test_a_failed_refund_of_a_return_comes_back_for_a_person_to_recredit(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """The card refund that paid the withdrawal failed: the customer has
    neither the payout nor the balance; a person re-credits it."""
    deposit = credited(lifecycle, "30.00")
    _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "30.00")
    assert _refund(lifecycle, deposit.transaction_id, "30.00") == 200
    failed = lifecycle.sandbox_body(
        lifecycle.transaction(deposit.transaction_id), "refund_failed", amount="30.00"
    )
    assert lifecycle.sandbox_webhook(failed)[0] == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    assert stored.status is Status.MANUAL_REVIEW
    assert deposit_money(stored).to_credit == Decimal("30.00")
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert balance(api) == START + Decimal("30.00") == ledger_sum(api)


def test_failing_a_routed_payout_takes_its_share_off_the_deposit(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    withdrawal = _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "30.00")
    assert backoffice.payout_failed(withdrawal)[0] == 200
    stored = lifecycle.transaction(deposit.transaction_id)
    assert stored.payout_returns == {}
    assert balance(api) == START + Decimal("30.00") == ledger_sum(api)
    # The deposit can be routed back again, and a refund of it now is a refund.
    assert _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "30.00")


def test_a_routed_payout_the_provider_reported_refunded_cannot_be_failed(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Failing it would give back the hold the card refund already paid."""
    deposit = credited(lifecycle, "30.00")
    withdrawal = _paid_back(api, lifecycle, backoffice, deposit.transaction_id, "30.00")
    assert _refund(lifecycle, deposit.transaction_id, "30.00") == 200
    status, body = backoffice.payout_failed(withdrawal)
    assert (status, body["error"]["code"]) == (409, "payout_returned_to_source")
    assert lifecycle.transaction(withdrawal).status is Status.PROVIDER_CONFIRMED
    assert balance(api) == START == ledger_sum(api)


def test_a_refund_reported_before_the_approval_makes_the_route_check_again(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """Refunded first (a plain refund, reversed from the account), then approved
    with a route to it: nothing is left of the deposit to route back, and the
    operator rejects the withdrawal instead (its hold comes back)."""
    deposit = credited(lifecycle, "30.00")
    withdrawal = withdraw(api, "30.00")
    assert _refund(lifecycle, deposit.transaction_id, "30.00") == 200
    assert balance(api) == START - Decimal("30.00")  # 30.00 held, 30.00 refunded
    status, body = approve(backoffice, withdrawal, route={deposit.transaction_id: "30.00"})
    assert (status, body["error"]["code"]) == (422, "payout_route_invalid")
    assert backoffice.reject(withdrawal)[0] == 200
    assert balance(api) == START == ledger_sum(api)
