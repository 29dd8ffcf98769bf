"""The customer functions invoked through their real handlers, against moto + the seed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from cashier_core.models import Transaction
from cashier_core.storage.transactions import TransactionStore
from cashier_local.events import api_event, authorizer_context
from cashier_local.seed import Seed
from tests.support.aws import LocalAws
from tests.support.lambdas import invoke, load_function, reply

ROUTES = {
    "GetCashierMethodsFunction": ("GET", "/cashier/methods"),
    "CreateCashierDepositFunction": ("POST", "/cashier/deposit"),
    "CreateCashierWithdrawalFunction": ("POST", "/cashier/withdrawal"),
    "GetCashierTransactionsFunction": ("GET", "/cashier/transactions"),
    "CancelCashierWithdrawalFunction": ("POST", "/cashier/withdrawal/{transaction_id}/cancel"),
}


@dataclass
class CustomerApi:
    aws: LocalAws
    seed: Seed
    secrets: dict[str, dict[str, Any]]
    modules: dict[str, ModuleType] = field(default_factory=dict)

    def module(self, function_id: str) -> ModuleType:
        if function_id not in self.modules:
            self.modules[function_id] = load_function(function_id)
        return self.modules[function_id]

    def brand_of(self, customer_id: str) -> str:
        return next(c.brand_id for c in self.seed.customers if c.customer_id == customer_id)

    def raw(self, function_id: str, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = invoke(self.module(function_id), event, function_id)
        return response

    def call(
        self,
        function_id: str,
        customer_id: str | None,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: list[tuple[str, str]] | None = None,
        path_parameters: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        method, resource = ROUTES[function_id]
        path = resource.format(**(path_parameters or {}))
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        event = api_event(
            method=method,
            resource=resource,
            path=path,
            path_parameters=path_parameters,
            headers=[("Content-Type", "application/json"), *(headers or [])],
            query=query or [],
            body=body.encode() if isinstance(body, str) else body,
            authorizer=authorizer_context(customer_id, self.brand_of(customer_id))
            if customer_id
            else None,
        )
        return reply(self.raw(function_id, event))

    def methods(
        self, customer_id: str, account_id: str, *, explain: bool = False, **kw: Any
    ) -> tuple[int, dict[str, Any]]:
        query = [("account_id", account_id)] + ([("explain", "true")] if explain else [])
        return self.call(
            "GetCashierMethodsFunction", customer_id, query=query + kw.pop("extra", []), **kw
        )

    def deposit(
        self, customer_id: str, body: Any, *, key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = [("Idempotency-Key", key or f"key-{uuid.uuid4().hex}")] if key != "" else []
        return self.call("CreateCashierDepositFunction", customer_id, body=body, headers=headers)

    def withdraw(
        self, customer_id: str, body: Any, *, key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = [("Idempotency-Key", key or f"key-{uuid.uuid4().hex}")] if key != "" else []
        return self.call("CreateCashierWithdrawalFunction", customer_id, body=body, headers=headers)

    def cancel(self, customer_id: str, transaction_id: str) -> tuple[int, dict[str, Any]]:
        return self.call(
            "CancelCashierWithdrawalFunction",
            customer_id,
            path_parameters={"transaction_id": transaction_id},
        )

    def history(self, customer_id: str, /, **query: str) -> tuple[int, dict[str, Any]]:
        return self.call("GetCashierTransactionsFunction", customer_id, query=list(query.items()))

    def transactions_of(self, customer_id: str) -> list[Transaction]:
        store = TransactionStore(self.aws.dynamodb, self.aws.tables)
        found = []
        for page in self.aws.dynamodb.get_paginator("scan").paginate(
            TableName=self.aws.tables.transactions
        ):
            for item in page["Items"]:
                if item["customer_id"]["S"] == customer_id:
                    found.append(store.get(item["transaction_id"]["S"]))
        return found
