"""moto in-process with every resource of template.yaml, for integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cashier_core.storage.records import (
    AccountStore,
    CustomerStore,
    ProviderConfigStore,
    SessionStore,
)
from cashier_core.storage.tables import TableNames
from cashier_core.storage.transactions import TransactionStore
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

    def accounts(self) -> AccountStore:
        return AccountStore(self.dynamodb, self.tables.accounts)

    def customers(self) -> CustomerStore:
        return CustomerStore(self.dynamodb, self.tables.customers)

    def provider_configs(self) -> ProviderConfigStore:
        return ProviderConfigStore(self.dynamodb, self.tables.provider_configs)

    def sessions(self) -> SessionStore:
        return SessionStore(self.dynamodb, self.tables.sessions)


@contextmanager
def local_aws(monkeypatch: pytest.MonkeyPatch, region: str) -> Iterator[LocalAws]:
    with mock_aws():
        session = boto3.session.Session(region_name=region)
        dynamodb = session.client("dynamodb")
        sqs = session.client("sqs")
        secretsmanager = session.client("secretsmanager")
        resources = provision(dynamodb=dynamodb, sqs=sqs, secretsmanager=secretsmanager)
        # The environment every function gets, from the template's Globals.
        for name, value in resources.environment("CreditWorkerFunction").items():
            monkeypatch.setenv(name, value)
        yield LocalAws(dynamodb, sqs, secretsmanager, resources, TableNames.from_environment())
