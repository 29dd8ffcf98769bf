"""Return to source is carried out as a refund of the card deposit at the
provider (that is what the suggestion says: "refund each card or wallet
deposit"). The provider then reports that refund; it must not take the money
from the account a second time: the withdrawal's hold already did."""

from __future__ import annotations

from decimal import Decimal

from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle
from tests.support.withdrawals import approve, balance, credited, ledger_sum, withdraw


def test_the_providers_report_of_a_return_to_source_refund_does_not_debit_twice(
    api: CustomerApi, lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = credited(lifecycle, "30.00")
    assert balance(api) == Decimal("130.00")
    withdrawal = withdraw(api, "30.00")
    assert balance(api) == Decimal("100.00")  # held
    status, body = approve(backoffice, withdrawal, route={deposit.transaction_id: "30.00"})
    assert status == 200, body

    # The operator refunds the card deposit at the provider as the payout; the
    # provider reports the refund of that payment.
    refund = lifecycle.sandbox_body(deposit, "refunded", amount="30.00")
    assert lifecycle.sandbox_webhook(refund)[0] == 200

    assert ledger_sum(api) == balance(api)
    assert balance(api) == Decimal("100.00"), (
        "the customer paid 30.00 once (the hold) and lost it again on the refund report:"
        f" balance {balance(api)}; deposit now {lifecycle.transaction(deposit.transaction_id).status.api_name}"
    )
