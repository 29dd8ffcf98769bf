"""moto in-process with every resource of template.yaml, for integration tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cashier_core.settings import forget_settings, read_settings
from cashier_core.storage.deliveries import DeliveryStore
from cashier_core.storage.pages import TransactionPages
from cashier_core.storage.records import (
    AccountStore,
    CustomerStore,
    ProviderConfigStore,
)
from cashier_core.storage.sessions import SessionStore
from cashier_core.storage.tables import ACCOUNT_SORT_KEY, TableNames
from cashier_core.storage.transactions import TransactionStore
from cashier_local import template
from cashier_local.resources import LocalResources, provision


@dataclass
class LocalAws:
    dynamodb: Any
    sqs: Any
    secretsmanager: Any
    resources: LocalResources
    tables: TableNames

    def transactions(self, **kwargs: Any) -> TransactionStore:
        return TransactionStore(self.dynamodb, self.tables, **kwargs)

    def pages(self) -> TransactionPages:
        return TransactionPages(self.dynamodb, self.tables.transactions)

    def deliveries(self) -> DeliveryStore:
        return DeliveryStore(self.dynamodb, self.tables.webhook_deliveries)

    def accounts(self) -> AccountStore:
        return AccountStore(self.dynamodb, self.tables.accounts)

    def customers(self) -> CustomerStore:
        return CustomerStore(self.dynamodb, self.tables.customers)

    def provider_configs(self) -> ProviderConfigStore:
        return ProviderConfigStore(self.dynamodb, self.tables.provider_configs)

    def sessions(self) -> SessionStore:
        return SessionStore(self.dynamodb, self.tables.sessions)

    def account_balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """account_id -> (stored balance, sum of its ledger entries)."""
        paginator = self.dynamodb.get_paginator("scan")
        balances: dict[str, Decimal] = {}
        ledgers: dict[str, Decimal] = defaultdict(Decimal)
        for page in paginator.paginate(TableName=self.tables.accounts, ConsistentRead=True):
            for item in page["Items"]:
                account_id = item["account_id"]["S"]
                if item["sk"]["S"] == ACCOUNT_SORT_KEY:
                    balances[account_id] = Decimal(item["balance"]["N"])
                else:
                    ledgers[account_id] += Decimal(item["amount"]["N"])
        return {key: (balance, ledgers[key]) for key, balance in balances.items()}

    def assert_balances_match_ledgers(self) -> None:
        mismatched = {
            account_id: pair
            for account_id, pair in self.account_balances().items()
            if pair[0] != pair[1]
        }
        assert not mismatched, f"balance != sum of ledger entries: {mismatched}"


@cache
def _clients(region: str) -> tuple[Any, Any, Any]:
    # Client creation is most of a test's setup; moto intercepts a client made
    # outside the mock as long as a mock is active when it is called, so tests
    # share these. A test that registers client events makes its own client.
    session = boto3.session.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return session.client("dynamodb"), session.client("sqs"), session.client("secretsmanager")


@contextmanager
def local_aws(monkeypatch: pytest.MonkeyPatch, region: str) -> Iterator[LocalAws]:
    with mock_aws():
        dynamodb, sqs, secretsmanager = _clients(region)
        resources = provision(dynamodb=dynamodb, sqs=sqs, secretsmanager=secretsmanager)
        # Every function's environment (the template's Globals and each one's
        # own variables), as the local stack sets it.
        environment: dict[str, str] = {}
        for function_id in template.functions():
            environment.update(resources.environment(function_id))
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        forget_settings()  # a new world: functions loaded from here on parse it afresh
        yield LocalAws(dynamodb, sqs, secretsmanager, resources, read_settings(environment).tables)
