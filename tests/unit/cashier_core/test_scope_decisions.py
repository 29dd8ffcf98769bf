"""An event from another scope (mode, merchant account, another brand's secret)
is recorded and never applied, whatever the deposit's status and whatever the
event says (lifecycle.decide's early branch)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cashier_core.lifecycle import (
    Outcome,
    ProviderEffect,
    ProviderReport,
    decide,
    decide_unmatched,
)
from cashier_core.statuses import Status, TransactionType
from tests.support import builders


@given(
    status=st.sampled_from(Status),
    effect=st.sampled_from(ProviderEffect),
    kind=st.sampled_from(TransactionType),
)
def test_an_out_of_scope_report_is_ignored_from_every_status(
    status: Status, effect: ProviderEffect, kind: TransactionType
) -> None:
    account = builders.account(brand_id="brand-alpha")
    transaction = builders.transaction(account, status=status, type=kind, provider="stripe")
    report = ProviderReport(
        provider="stripe", effect=effect, raw_status="checkout.session.completed",
        amount=transaction.amount, currency=transaction.currency,
        scope_mismatch="a live event for a test config",
    )  # fmt: skip
    move = decide(transaction, report)
    assert move.outcome is Outcome.IGNORE
    assert move.note == "out of scope: a live event for a test config"
    assert move.ledger is None and not move.enqueue


def test_the_same_report_in_scope_is_applied() -> None:
    transaction = builders.transaction(
        builders.account(), status=Status.PENDING_PAYMENT, provider="stripe"
    )
    report = ProviderReport(
        provider="stripe", effect=ProviderEffect.CONFIRMED, raw_status="paid",
        amount=Decimal("25.00"), currency="USD",
    )  # fmt: skip
    assert decide(transaction, report).target is Status.PROVIDER_CONFIRMED


def test_an_out_of_scope_reversal_naming_nothing_is_not_retried() -> None:
    report = ProviderReport(
        provider="adyen", effect=ProviderEffect.CHARGEBACK, raw_status="CHARGEBACK:true",
        scope_mismatch="merchant account 'X' is not the config's",
    )  # fmt: skip
    assert decide_unmatched(report).outcome is Outcome.IGNORE
    in_scope = ProviderReport(provider="adyen", effect=ProviderEffect.CHARGEBACK, raw_status="x")
    assert decide_unmatched(in_scope).outcome is Outcome.RETRY
