"""Customers, trading accounts with their ledger, provider configs and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from cashier_core.errors import AccountNotFound, CustomerNotFound, RetryableConflict
from cashier_core.models import (
    AuditRecord,
    BrandSettings,
    CustomerRecord,
    LedgerEntry,
    ProviderConfig,
    TradingAccount,
)
from cashier_core.storage.codec import from_item, to_item
from cashier_core.storage.conventions import raise_storage_error
from cashier_core.storage.tables import (
    ACCOUNT_SORT_KEY,
    BY_PROVIDER_INDEX,
    LEDGER_SORT_PREFIX,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Table:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def _get(
        self, model: type[ModelT], key: dict[str, Any], *, consistent: bool = False
    ) -> ModelT | None:
        try:
            response = self._client.get_item(
                TableName=self._table_name, Key=key, ConsistentRead=consistent
            )
        except ClientError as error:
            raise_storage_error(error)
        item = response.get("Item")
        return from_item(model, item) if item else None

    def _query(self, model: type[ModelT], **request: Any) -> Iterator[ModelT]:
        request["TableName"] = self._table_name
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                yield from_item(model, item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def read_customer_and_account(
    client: DynamoDBClient,
    *,
    customers_table: str,
    accounts_table: str,
    customer_id: str,
    account_id: str,
) -> tuple[CustomerRecord, TradingAccount | None]:
    """The two records every customer request starts from, in one BatchGetItem
    (it keeps a deposit's whole lifecycle within ten AWS calls). The account is
    None when it is missing or another customer's: the caller raises
    AccountNotFound where its order of checks puts it."""
    wanted: dict[str, Any] = {
        customers_table: {"Keys": [{"customer_id": {"S": customer_id}}]},
        accounts_table: {
            "Keys": [{"account_id": {"S": account_id}, "sk": {"S": ACCOUNT_SORT_KEY}}]
        },
    }
    found: dict[str, list[dict[str, Any]]] = {customers_table: [], accounts_table: []}
    for _ in range(5):
        try:
            response = client.batch_get_item(RequestItems=wanted)
        except ClientError as error:
            raise_storage_error(error)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        wanted = dict(response.get("UnprocessedKeys") or {})
        if not wanted:
            break
    else:
        raise RetryableConflict("The customer's records could not be read; retry.")
    if not found[customers_table]:
        raise CustomerNotFound()
    customer = from_item(CustomerRecord, found[customers_table][0])
    accounts = [from_item(TradingAccount, item) for item in found[accounts_table]]
    if not accounts or accounts[0].customer_id != customer_id:
        return customer, None
    return customer, accounts[0]


class CustomerStore(_Table):
    def get(self, customer_id: str) -> CustomerRecord:
        customer = self._get(CustomerRecord, {"customer_id": {"S": customer_id}})
        if customer is None:
            raise CustomerNotFound()
        return customer

    def put(self, customer: CustomerRecord) -> None:
        self._client.put_item(TableName=self._table_name, Item=to_item(customer))


class AccountStore(_Table):
    """Account items and their ledger share a partition: `sk` is ACCOUNT or LEDGER#<id>.

    The balance is only ever changed by TransactionStore's movements; `put`
    is for creating accounts (seeding, onboarding), never for adjusting money.
    """

    def get(self, account_id: str, *, consistent: bool = False) -> TradingAccount:
        account = self._get(
            TradingAccount,
            {"account_id": {"S": account_id}, "sk": {"S": ACCOUNT_SORT_KEY}},
            consistent=consistent,
        )
        if account is None:
            raise AccountNotFound()
        return account

    def get_for_customer(self, customer_id: str, account_id: str) -> TradingAccount:
        """Another customer's account answers exactly as a missing one."""
        account = self.get(account_id)
        if account.customer_id != customer_id:
            raise AccountNotFound()
        return account

    def create(self, account: TradingAccount, at: datetime) -> None:
        """Open an account; a non-zero opening balance is written as its first entry."""
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table_name,
                    "Item": to_item(account, sk=ACCOUNT_SORT_KEY),
                    "ConditionExpression": "attribute_not_exists(account_id)",
                }
            }
        ]
        if account.balance != 0:
            entry = LedgerEntry.opening_balance(account, at)
            writes.append(
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": to_item(entry, sk=LEDGER_SORT_PREFIX + entry.entry_id),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                }
            )
        self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]

    def ledger(self, account_id: str) -> list[LedgerEntry]:
        return list(
            self._query(
                LedgerEntry,
                KeyConditionExpression="account_id = :account AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":account": {"S": account_id},
                    ":prefix": {"S": LEDGER_SORT_PREFIX},
                },
                ConsistentRead=True,
            )
        )


class BrandStore(_Table):
    def get(self, brand_id: str) -> BrandSettings | None:
        return self._get(BrandSettings, {"brand_id": {"S": brand_id}})

    def put(self, brand: BrandSettings) -> None:
        self._client.put_item(TableName=self._table_name, Item=to_item(brand))


class ProviderConfigStore(_Table):
    def for_provider(self, provider: str) -> list[ProviderConfig]:
        """Every brand's configs of one provider: a webhook names no brand."""
        return list(
            self._query(
                ProviderConfig,
                IndexName=BY_PROVIDER_INDEX,
                KeyConditionExpression="provider = :provider",
                ExpressionAttributeValues={":provider": {"S": provider}},
            )
        )

    def for_brand(self, brand_id: str) -> list[ProviderConfig]:
        return list(
            self._query(
                ProviderConfig,
                KeyConditionExpression="brand_id = :brand",
                ExpressionAttributeValues={":brand": {"S": brand_id}},
            )
        )

    def put(self, config: ProviderConfig) -> None:
        self._client.put_item(TableName=self._table_name, Item=to_item(config))


class AuditStore(_Table):
    """Append-only: records are put once and never updated or deleted (the
    functions' IAM policies grant PutItem and Query on this table, nothing else)."""

    def append(self, record: AuditRecord) -> None:
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(audit_id)",
            )
        except ClientError as error:
            raise_storage_error(error)

    def of(self, subject_id: str) -> list[AuditRecord]:
        return list(
            self._query(
                AuditRecord,
                KeyConditionExpression="subject_id = :subject",
                ExpressionAttributeValues={":subject": {"S": subject_id}},
                ConsistentRead=True,
            )
        )
