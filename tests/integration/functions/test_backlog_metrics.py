"""The credit sweeper publishes what waits, for the alarms and the dashboard:
the age of the oldest unswept confirmation, credit_failed deposits, and
withdrawals waiting for BackOffice with the oldest one's age."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cashier_core.clock import utc_now
from cashier_core.statuses import Status, TransactionType
from tests.support import builders
from tests.support.lifecycle import Lifecycle

USD = "acc-alice-usd"
WAITING_METRICS = (
    "OldestConfirmedAgeSeconds",
    "CreditFailedWaiting",
    "WithdrawalsWaiting",
    "OldestWithdrawalAgeSeconds",
)


def _published(output: str) -> dict[str, Any]:
    """metric name -> (value, dimensions) of each EMF document printed."""
    found: dict[str, Any] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        [directive] = document["_aws"]["CloudWatchMetrics"]
        [metric] = directive["Metrics"]
        [dimensions] = directive["Dimensions"]
        found[metric["Name"]] = ([*document[metric["Name"]]], dimensions, metric["Unit"])
    return found


def test_an_idle_sweep_publishes_zeros(
    lifecycle: Lifecycle, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert lifecycle.run("CreditSweeperFunction") == {"re_enqueued": 0}
    published = _published(capsys.readouterr().out)
    for name in WAITING_METRICS:
        values, dimensions, _ = published[name]
        assert (values, dimensions) == ([0.0], ["service"]), name


def test_a_sweep_publishes_what_waits_and_for_how_long(
    lifecycle: Lifecycle, capsys: pytest.CaptureFixture[str]
) -> None:
    store = lifecycle.api.aws.transactions()
    account = lifecycle.api.aws.accounts().get(USD)
    store.create(builders.transaction(account, status=Status.PROVIDER_CONFIRMED))  # since T0
    for _ in range(2):
        store.create(builders.transaction(account, status=Status.CREDIT_FAILED))
    store.create(
        builders.transaction(
            account, status=Status.MANUAL_REVIEW, type=TransactionType.WITHDRAWAL, amount="5.00"
        )
    )
    store.create(builders.transaction(account, status=Status.MANUAL_REVIEW))  # a deposit
    before = utc_now()
    capsys.readouterr()
    assert lifecycle.run("CreditSweeperFunction") == {"re_enqueued": 1}
    after = utc_now()
    published = _published(capsys.readouterr().out)

    def age(name: str) -> float:
        [value], dimensions, unit = published[name]
        assert (dimensions, unit) == (["service"], "Seconds")
        return float(value)

    waited = ((before - builders.T0).total_seconds(), (after - builders.T0).total_seconds())
    assert waited[0] <= age("OldestConfirmedAgeSeconds") <= waited[1]
    assert waited[0] <= age("OldestWithdrawalAgeSeconds") <= waited[1]
    assert published["CreditFailedWaiting"][0] == [2.0]
    assert published["WithdrawalsWaiting"][0] == [1.0]  # the reviewed deposit is not one
    lifecycle.drain()
