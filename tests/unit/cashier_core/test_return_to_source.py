"""return_to_source: the suggested split is a pure function of the account's
transactions and ledger. Properties (hypothesis): it never suggests more than
the withdrawal, never more than a deposit's net, only to source providers,
newest first, and pays by the withdrawal's own method only what no source
deposit can take; a chosen route is checked the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashier_core.errors import PayoutRouteInvalid
from cashier_core.models import LedgerEntry, LedgerKind, StatusChange, Transaction
from cashier_core.return_to_source import (
    BY_WITHDRAWAL_METHOD,
    SourceDeposit,
    check_route,
    source_deposits,
    suggest,
    totals_by_method,
)
from cashier_core.statuses import Status, TransactionType

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PROVIDERS = ("sandbox", "stripe", "adyen", "bank_wire")
SOURCES = frozenset({"sandbox", "stripe", "adyen"})
CENTS = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c).scaleb(-2))


def transaction(
    transaction_id: str,
    kind: TransactionType,
    amount: Decimal,
    status: Status,
    *,
    provider: str | None = "sandbox",
    minutes: int = 0,
    route: dict[str, str] | None = None,
    returns: dict[str, str] | None = None,
) -> Transaction:
    at = T0 + timedelta(minutes=minutes)
    return Transaction(
        transaction_id=transaction_id,
        type=kind,
        customer_id="cus-alice",
        account_id="acc-alice-usd",
        brand_id="brand-alpha",
        method_id=f"m-{provider}" if provider else None,
        provider=provider,
        amount=amount,
        currency="USD",
        status=status,
        created_at=at,
        updated_at=at,
        history=(StatusChange(status=status, at=at, reason="test", source="test"),),
        version=2,
        payout_route=route,
        payout_returns=returns,
    )


def entry(transaction_id: str, kind: LedgerKind, amount: Decimal) -> LedgerEntry:
    return LedgerEntry(
        entry_id=f"{transaction_id}#{kind.value}",
        account_id="acc-alice-usd",
        transaction_id=transaction_id,
        kind=kind,
        amount=amount * kind.sign,
        currency="USD",
        created_at=T0,
    )


@st.composite
def source_lists(draw: st.DrawFn) -> list[SourceDeposit]:
    count = draw(st.integers(min_value=0, max_value=8))
    deposits = []
    for index in range(count):
        deposited = draw(CENTS)
        reversed_ = draw(st.sampled_from([Decimal(0), deposited, deposited / 2]))
        returned = draw(st.sampled_from([Decimal(0), deposited / 4, deposited * 2]))
        deposits.append(
            SourceDeposit(
                transaction_id=f"dep-{index}",
                method_id="m",
                provider=draw(st.sampled_from(PROVIDERS)),
                created_at=T0 + timedelta(minutes=draw(st.integers(0, 10_000))),
                deposited=deposited,
                reversed=reversed_.quantize(Decimal("0.01")),
                returned=returned.quantize(Decimal("0.01")),
            )
        )
    return deposits


@settings(max_examples=300, deadline=None)
@given(deposits=source_lists(), amount=CENTS)
def test_the_suggestion_never_exceeds_the_withdrawal_or_a_deposits_net(
    deposits: list[SourceDeposit], amount: Decimal
) -> None:
    withdrawal = transaction("wd", TransactionType.WITHDRAWAL, amount, Status.MANUAL_REVIEW)
    suggestion = suggest(withdrawal, deposits, SOURCES)
    by_id = {d.transaction_id: d for d in deposits}
    refunded = sum((r.amount for r in suggestion.refunds), Decimal(0))
    assert refunded <= amount
    assert refunded + suggestion.by_withdrawal_method == amount
    assert suggestion.by_withdrawal_method >= 0
    for refund in suggestion.refunds:
        deposit = by_id[refund.deposit_id]
        assert 0 < refund.amount <= deposit.net
        assert deposit.provider in SOURCES
    assert len({r.deposit_id for r in suggestion.refunds}) == len(suggestion.refunds)
    # Newest first: refunds follow the deposits' order by time, newest first.
    times = [by_id[r.deposit_id].created_at for r in suggestion.refunds]
    assert times == sorted(times, reverse=True)
    # Only what no source deposit can take goes by the withdrawal's own method.
    if suggestion.by_withdrawal_method > 0:
        unused = [
            d for d in deposits if d.provider in SOURCES and d.transaction_id not in
            {r.deposit_id for r in suggestion.refunds}
        ]  # fmt: skip
        assert all(d.net == 0 for d in unused)
        assert all(r.amount == by_id[r.deposit_id].net for r in suggestion.refunds)
    # The suggestion is itself a route the check accepts.
    route = {k: f"{v:f}" for k, v in suggestion.as_route().items()}
    assert check_route(withdrawal, route, deposits, SOURCES) == route


@settings(max_examples=200, deadline=None)
@given(deposits=source_lists(), amount=CENTS, extra=CENTS)
def test_a_route_over_a_deposits_net_or_not_the_withdrawal_is_refused(
    deposits: list[SourceDeposit], amount: Decimal, extra: Decimal
) -> None:
    withdrawal = transaction("wd", TransactionType.WITHDRAWAL, amount, Status.MANUAL_REVIEW)
    with pytest.raises(PayoutRouteInvalid):
        check_route(withdrawal, {BY_WITHDRAWAL_METHOD: f"{amount + extra:f}"}, deposits, SOURCES)
    for deposit in deposits:
        over = deposit.net + Decimal("0.01")
        if deposit.provider in SOURCES and over <= amount:
            rest = amount - over
            route = {deposit.transaction_id: f"{over:f}"}
            if rest > 0:
                route[BY_WITHDRAWAL_METHOD] = f"{rest:f}"
            with pytest.raises(PayoutRouteInvalid):
                check_route(withdrawal, route, deposits, SOURCES)


@pytest.mark.parametrize(
    "route",
    [
        {"dep-wire": "10.00", BY_WITHDRAWAL_METHOD: "20.00"},  # not a source provider
        {"dep-unknown": "10.00", BY_WITHDRAWAL_METHOD: "20.00"},  # not this account's
        {"dep-card": "10.001", BY_WITHDRAWAL_METHOD: "19.999"},  # too precise
        {"dep-card": "-5.00", BY_WITHDRAWAL_METHOD: "35.00"},
        {"dep-card": "NaN", BY_WITHDRAWAL_METHOD: "30.00"},
        {BY_WITHDRAWAL_METHOD: "29.99"},  # not the whole withdrawal
    ],
)
def test_bad_routes_are_refused(route: dict[str, str]) -> None:
    withdrawal = transaction(
        "wd", TransactionType.WITHDRAWAL, Decimal("30.00"), Status.MANUAL_REVIEW
    )
    deposits = [
        SourceDeposit("dep-card", "m", "sandbox", T0, Decimal(50), Decimal(0), Decimal(0)),
        SourceDeposit("dep-wire", "w", "bank_wire", T0, Decimal(50), Decimal(0), Decimal(0)),
    ]
    with pytest.raises(PayoutRouteInvalid):
        check_route(withdrawal, route, deposits, SOURCES)


def test_deposits_are_read_from_the_ledger_and_earlier_payouts() -> None:
    """Credited 100 by card, refunded 30 of it by the provider; an approved
    payout's share of 20 is on the card deposit (the withdrawal viewed is left
    out of its own returned); a wire deposit is not a source; an uncredited
    deposit brought nothing; a withdrawal's own route field is not read."""
    withdrawal = transaction(
        "wd", TransactionType.WITHDRAWAL, Decimal("80.00"), Status.MANUAL_REVIEW
    )
    card = transaction(
        "card", TransactionType.DEPOSIT, Decimal("100.00"), Status.CREDITED, minutes=1,
        returns={"paid": "20.00", "wd": "7.00"},
    )  # fmt: skip
    wire = transaction(
        "wire", TransactionType.DEPOSIT, Decimal("40.00"), Status.CREDITED, provider="bank_wire",
        minutes=2,
    )  # fmt: skip
    pending = transaction(
        "pending", TransactionType.DEPOSIT, Decimal("9.00"), Status.PENDING_PAYMENT
    )
    paid = transaction(
        "paid", TransactionType.WITHDRAWAL, Decimal("20.00"), Status.PROVIDER_CONFIRMED,
        route={"card": "20.00"},
    )  # fmt: skip
    bounced = transaction(
        "bounced", TransactionType.WITHDRAWAL, Decimal("5.00"), Status.FAILED,
        route={"card": "5.00"},
    )  # fmt: skip
    ledger = [
        entry("card", LedgerKind.CREDIT, Decimal("100.00")),
        entry("card", LedgerKind.REVERSAL, Decimal("30.00")),
        entry("wire", LedgerKind.CREDIT, Decimal("40.00")),
    ]
    deposits = source_deposits(withdrawal, [withdrawal, card, wire, pending, paid, bounced], ledger)
    assert [(d.transaction_id, d.deposited, d.reversed, d.returned, d.net) for d in deposits] == [
        ("wire", Decimal("40.00"), Decimal(0), Decimal(0), Decimal("40.00")),
        ("card", Decimal("100.00"), Decimal("30.00"), Decimal("20.00"), Decimal("50.00")),
    ]
    suggestion = suggest(withdrawal, deposits, SOURCES)
    assert suggestion.as_route() == {
        "card": Decimal("50.00"),
        BY_WITHDRAWAL_METHOD: Decimal("30.00"),
    }
    totals = {
        t.provider: (t.deposited, t.reversed, t.returned, t.net) for t in totals_by_method(deposits)
    }
    assert totals == {
        "sandbox": (Decimal("100.00"), Decimal("30.00"), Decimal("20.00"), Decimal("50.00")),
        "bank_wire": (Decimal("40.00"), Decimal(0), Decimal(0), Decimal("40.00")),
    }


def test_without_a_policy_everything_goes_by_the_withdrawals_own_method() -> None:
    withdrawal = transaction(
        "wd", TransactionType.WITHDRAWAL, Decimal("10.00"), Status.MANUAL_REVIEW
    )
    deposits = [SourceDeposit("d", "m", "sandbox", T0, Decimal(50), Decimal(0), Decimal(0))]
    suggestion = suggest(withdrawal, deposits, frozenset())
    assert (suggestion.refunds, suggestion.by_withdrawal_method) == ((), Decimal("10.00"))
