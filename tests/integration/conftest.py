from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.botocore_stubber import BotocoreStubber

from cashier_core.cashier import forget_secrets
from cashier_core.velocity import DEPOSITS_PER_MINUTE_VARIABLE
from cashier_local.seed import apply_seed, read_seed
from tests.conftest import REGION
from tests.support import builders
from tests.support.aws import LocalAws, local_aws
from tests.support.backoffice import BackOffice
from tests.support.customer_api import CustomerApi
from tests.support.lifecycle import Lifecycle


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    """moto with the template's resources; after the test, every account's
    balance must equal the sum of its ledger entries."""
    with local_aws(monkeypatch, REGION) as local:
        yield local
        local.assert_balances_match_ledgers()


@pytest.fixture
def api(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> CustomerApi:
    """The default seed in moto, and the customer functions' real handlers."""
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:3000")
    # Suites here create many deposits a minute for one seeded customer; the cap
    # has its own tests (functions/test_deposit_velocity.py), which lower it.
    monkeypatch.setenv(DEPOSITS_PER_MINUTE_VARIABLE, "100000")
    seed = read_seed()
    secrets = apply_seed(
        seed,
        dynamodb=aws.dynamodb,
        secretsmanager=aws.secretsmanager,
        tables=aws.tables,
        now=builders.T0,
    )
    forget_secrets()
    return CustomerApi(aws, seed, secrets)


@pytest.fixture
def backoffice(api: CustomerApi) -> BackOffice:
    """BackOffice's API as an operator calls it (a test module may set one up its own way)."""
    return BackOffice(api)


@pytest.fixture
def lifecycle(api: CustomerApi) -> Lifecycle:
    return Lifecycle(api)


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's backends are not safe under concurrent calls; like
    cashier_local.moto_server, serialize them so that each DynamoDB call is
    atomic, as it is in AWS. Our code's own steps still interleave freely."""
    lock = threading.Lock()
    handle = BotocoreStubber.__call__

    def serialized(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return handle(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)
