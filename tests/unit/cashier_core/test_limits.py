"""Deposit-limit arithmetic (cashier_core/limits.py): calendar periods in UTC,
where a limit comes from, and counting that never goes negative nor releases
more than it counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashier_core.eligibility import (
    EligibleMethod,
    ExclusionReason,
    MethodEvaluation,
    within_allowance,
)
from cashier_core.lifecycle import PaymentNotStarted, ProviderEffect, ProviderReport, decide
from cashier_core.limits import (
    Cap,
    Period,
    Usage,
    allowances,
    amount_remaining,
    counted_usage,
    effective_caps,
    first_refusal,
    releases_counted,
    window,
    windows,
)
from cashier_core.models import (
    AmountLimits,
    CrmOverrides,
    CustomerRecord,
    DepositLimits,
    PeriodLimit,
    ProviderConfig,
    Transaction,
)
from cashier_core.statuses import Status, TransactionType
from tests.support import builders


def _keys(moment: datetime) -> dict[Period, str]:
    return {w.period: w.key for w in windows(moment)}


# --- periods -----------------------------------------------------------------
def test_the_last_millisecond_of_a_day_belongs_to_that_day_and_midnight_to_the_next() -> None:
    last = datetime(2026, 3, 10, 23, 59, 59, 999000, tzinfo=UTC)
    midnight = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert _keys(last)[Period.DAILY] == "2026-03-10"
    assert _keys(midnight)[Period.DAILY] == "2026-03-11"
    assert window(Period.DAILY, last).resets_at == midnight
    assert window(Period.DAILY, midnight).starts_at == midnight


def test_iso_week_53_spans_the_new_year_and_the_month_does_not() -> None:
    # 2026 starts on a Thursday: it has an ISO week 53, Monday 28 Dec to Sunday 3 Jan.
    new_years_eve = datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    new_year = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert _keys(new_years_eve) == {
        Period.DAILY: "2026-12-31",
        Period.WEEKLY: "2026-W53",
        Period.MONTHLY: "2026-12",
    }
    assert _keys(new_year) == {
        Period.DAILY: "2027-01-01",
        Period.WEEKLY: "2026-W53",
        Period.MONTHLY: "2027-01",
    }
    week = window(Period.WEEKLY, new_year)
    assert week.starts_at == datetime(2026, 12, 28, tzinfo=UTC)
    assert week.resets_at == datetime(2027, 1, 4, tzinfo=UTC)
    assert _keys(datetime(2027, 1, 4, tzinfo=UTC))[Period.WEEKLY] == "2027-W01"
    assert window(Period.MONTHLY, new_years_eve).resets_at == new_year


def test_periods_are_utc_whatever_the_moment_s_zone() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 08:30 on the 1st in Tokyo is still the last day of the month in UTC.
    moment = datetime(2026, 5, 1, 8, 30, tzinfo=tokyo)
    assert _keys(moment)[Period.DAILY] == "2026-04-30"
    assert _keys(moment)[Period.MONTHLY] == "2026-04"
    with pytest.raises(ValueError, match="timezone-aware"):
        window(Period.DAILY, datetime(2026, 5, 1))  # noqa: DTZ001 - the point of the test


@given(st.datetimes(timezones=st.just(UTC)), st.sampled_from(list(Period)))
def test_every_moment_lies_in_its_period_and_the_next_period_starts_at_the_reset(
    moment: datetime, period: Period
) -> None:
    current = window(period, moment)
    assert current.starts_at <= moment < current.resets_at
    if current.resets_at.year <= 9999 and current.resets_at < datetime(9999, 12, 1, tzinfo=UTC):
        following = window(period, current.resets_at)
        assert following.starts_at == current.resets_at
        assert following.key != current.key
        assert window(period, current.resets_at - timedelta(microseconds=1)).key == current.key


# --- where a limit comes from -----------------------------------------------
BRAND = {
    "USD": DepositLimits(
        daily=PeriodLimit(amount=Decimal("1000.00"), count=5),
        monthly=PeriodLimit(amount=Decimal("5000.00")),
    )
}


def _customer(**fields: object) -> CustomerRecord:
    return CustomerRecord.model_validate(
        {"customer_id": "cus-1", "brand_id": "brand-1", "country": "DE", **fields}
    )


def test_the_brand_limits_apply_per_currency() -> None:
    caps = effective_caps(BRAND, _customer(), "USD")
    assert caps == {
        Period.DAILY: Cap(Decimal("1000.00"), 5),
        Period.MONTHLY: Cap(Decimal("5000.00"), None),
    }
    assert effective_caps(BRAND, _customer(), "EUR") == {}


def test_a_crm_override_replaces_a_period_higher_or_lower() -> None:
    crm = CrmOverrides(
        deposit_limits={
            "USD": DepositLimits(
                daily=PeriodLimit(amount=Decimal("3000.00")),
                weekly=PeriodLimit(count=2),
            )
        }
    )
    caps = effective_caps(BRAND, _customer(crm_overrides=crm), "USD")
    # The daily period is the CRM's as a whole: higher amount, no count.
    assert caps[Period.DAILY] == Cap(Decimal("3000.00"), None)
    assert caps[Period.WEEKLY] == Cap(None, 2)
    assert caps[Period.MONTHLY] == Cap(Decimal("5000.00"), None)


def test_a_self_limit_only_ever_lowers() -> None:
    own = {
        "USD": DepositLimits(
            daily=PeriodLimit(amount=Decimal("2000.00"), count=2),  # higher amount: ignored
            weekly=PeriodLimit(amount=Decimal("300.00")),  # where the brand has none
        )
    }
    caps = effective_caps(BRAND, _customer(self_limits=own), "USD")
    assert caps[Period.DAILY] == Cap(Decimal("1000.00"), 2)
    assert caps[Period.WEEKLY] == Cap(Decimal("300.00"), None)


def test_a_limit_amount_must_fit_the_currency() -> None:
    with pytest.raises(ValueError, match="decimals"):
        _customer(self_limits={"JPY": {"daily": {"amount": "10.5"}}})
    with pytest.raises(ValueError, match="an amount, a count, or both"):
        _customer(self_limits={"USD": {"daily": {}}})


# --- allowance -----------------------------------------------------------------
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_what_remains_is_the_smallest_over_the_periods_and_never_negative() -> None:
    caps = {Period.DAILY: Cap(Decimal("100.00"), 3), Period.MONTHLY: Cap(Decimal("150.00"))}
    usage = {
        "daily#2026-12-07": Usage(Decimal("40.00"), 1),
        "monthly#2026-12": Usage(Decimal("200.00"), 4),
    }
    limited = allowances(caps, usage, NOW)
    assert [a.window.period for a in limited] == [Period.DAILY, Period.MONTHLY]
    assert limited[0].amount_remaining == Decimal("60.00")
    assert limited[0].count_remaining == 2
    assert limited[1].amount_remaining == Decimal(0)
    assert amount_remaining(limited) == Decimal(0)
    refused = first_refusal(limited, Decimal("10.00"))
    assert refused is not None and refused.window.period is Period.MONTHLY


def test_a_count_limit_refuses_the_next_deposit_whatever_its_amount() -> None:
    limited = allowances(
        {Period.DAILY: Cap(None, 2)}, {"daily#2026-12-07": Usage(Decimal(1), 2)}, NOW
    )
    assert first_refusal(limited, Decimal("0.01")) is limited[0]


def _method(min_amount: str | None, max_amount: str | None) -> EligibleMethod:
    config = ProviderConfig(
        brand_id="brand-1",
        provider="sandbox",
        method_id=f"m-{min_amount}-{max_amount}",
        display_name="m",
        currencies=frozenset({"USD"}),
    )
    limits = AmountLimits(
        min_amount=Decimal(min_amount) if min_amount else None,
        max_amount=Decimal(max_amount) if max_amount else None,
    )
    return EligibleMethod(config, limits, redirects=True)


def test_methods_take_at_most_what_remains_and_hide_when_they_cannot_take_it() -> None:
    evaluation = MethodEvaluation(
        [_method("10.00", "5000.00"), _method(None, "20.00"), _method("80.00", None)], []
    )
    limited = allowances(
        {Period.DAILY: Cap(Decimal("100.00"))},
        {"daily#2026-12-07": Usage(Decimal("50.00"), 1)},
        NOW,
    )
    shown = within_allowance(evaluation, limited)
    assert [(m.limits.min_amount, m.limits.max_amount) for m in shown.eligible] == [
        (Decimal("10.00"), Decimal("50.00")),
        (None, Decimal("20.00")),
    ]
    assert [e.reason for e in shown.excluded] == [ExclusionReason.LIMIT_REACHED]

    spent = allowances(
        {Period.DAILY: Cap(None, 1)}, {"daily#2026-12-07": Usage(Decimal(5), 1)}, NOW
    )
    hidden = within_allowance(evaluation, spent)
    assert hidden.eligible == []
    assert {e.reason for e in hidden.excluded} == {ExclusionReason.LIMIT_REACHED}


# --- counting and releasing, through the real decisions ------------------------
ACCOUNT = builders.account()


def _deposit(number: int, amount: Decimal, at: datetime) -> Transaction:
    return builders.transaction(
        ACCOUNT,
        transaction_id=f"tx-{number}",
        amount=str(amount),
        at=at,
        counted_in=tuple(w.counter_key for w in windows(at)),
    )


def test_only_failed_and_cancelled_release_and_only_once() -> None:
    deposit = _deposit(1, Decimal("10.00"), NOW)
    assert releases_counted(deposit, Status.FAILED)
    assert releases_counted(deposit, Status.CANCELLED)
    for target in (Status.REFUNDED, Status.CHARGEBACK, Status.CREDITED, Status.MANUAL_REVIEW):
        assert not releases_counted(deposit, target)
    assert not releases_counted(
        deposit.model_copy(update={"counted_released": True}), Status.FAILED
    )
    assert not releases_counted(deposit.model_copy(update={"counted_in": ()}), Status.FAILED)
    withdrawal = deposit.model_copy(update={"type": TransactionType.WITHDRAWAL})
    assert not releases_counted(withdrawal, Status.FAILED)
    move = decide(deposit, PaymentNotStarted("sandbox", "provider_unavailable", "down"))
    assert move.target is Status.FAILED and move.release_counted


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400.00"), places=2)
STEP = st.one_of(
    st.tuples(st.just("deposit"), AMOUNTS, st.integers(0, 3)),  # amount, days later
    st.tuples(st.just("fail"), st.integers(0, 50), st.integers(0, 3)),  # which deposit
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(0, 3)),
    st.tuples(st.just("credit"), st.integers(0, 50), st.integers(0, 3)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_counters_never_go_negative_nor_past_a_limit_and_release_at_most_what_was_counted(  # noqa: PLR0912
    steps: list[tuple[str, object, int]],
) -> None:
    caps = {Period.DAILY: Cap(Decimal("500.00"), 4), Period.WEEKLY: Cap(Decimal("1200.00"))}
    counters: dict[str, Usage] = {}
    deposits: list[Transaction] = []
    released: dict[str, Usage] = {}
    for kind, value, days in steps:
        now = NOW + timedelta(days=days, hours=11, minutes=59, seconds=59)
        if kind == "deposit":
            amount = value
            assert isinstance(amount, Decimal)
            limited = allowances(caps, counters, now)
            if first_refusal(limited, amount) is not None:
                continue
            deposit = _deposit(len(deposits), amount, now)
            for key in deposit.counted_in:
                counters[key] = counters.get(key, Usage()).plus(amount)
            deposits.append(deposit)
            continue
        if not deposits:
            continue
        assert isinstance(value, int)
        index = value % len(deposits)
        deposit = deposits[index]
        if kind == "credit":
            if deposit.status is Status.CREATED:
                deposits[index] = deposit.model_copy(update={"status": Status.CREDITED})
            continue
        report = ProviderReport(
            provider="sandbox",
            raw_status="failed" if kind == "fail" else "refunded",
            effect=ProviderEffect.FAILED if kind == "fail" else ProviderEffect.REFUND,
            amount=deposit.amount,
            currency=deposit.currency,
        )
        move = decide(deposit, report)
        if not move.writes:
            continue
        if move.release_counted:
            for key in deposit.counted_in:
                counters[key] = counters[key].minus(deposit.amount)
                released[key] = released.get(key, Usage()).plus(deposit.amount)
        update: dict[str, object] = {"status": move.target, "version": deposit.version + 1}
        if move.release_counted:
            update["counted_released"] = True
        deposits[index] = deposit.model_copy(update=update)

    counted: dict[str, Usage] = {}
    for deposit in deposits:
        for key in deposit.counted_in:
            counted[key] = counted.get(key, Usage()).plus(deposit.amount)
    for key, usage in counters.items():
        assert usage.amount >= 0 and usage.count >= 0
        back = released.get(key, Usage())
        assert back.amount <= counted[key].amount and back.count <= counted[key].count
        cap = caps.get(Period(key.split("#")[0]), Cap())
        assert cap.amount is None or usage.amount <= cap.amount
        assert cap.count is None or usage.count <= cap.count
    # The counters are what the deposits themselves say (the BackOffice recompute).
    assert {k: v for k, v in counted_usage(deposits).items() if v.count} == {
        k: v for k, v in counters.items() if v.count
    }
