"""Deposit-limit counters: one item per (customer, currency, period) in the
rate-limits table, keyed `deposit_limit#<customer>#<currency>#<period>#<key>`.

A deposit is counted by conditional ADDs written in the same TransactWriteItems
as the deposit itself (TransactionStore.create), so no interleaving of
requests can push a capped period past its limit; a release is a conditional
ADD of the negative, written with the status change that ends the deposit
(TransactionStore.write), so it happens exactly once and never below zero.

The items carry no TTL: a deposit may fail long after the period it was
counted in, and its release must find the item; they are the record
BackOffice compares with the transactions (one small item per customer, currency
and period with deposits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from cashier_core.errors import RetryableConflict
from cashier_core.limits import Cap, Usage
from cashier_core.models import Transaction
from cashier_core.statuses import TransactionType
from cashier_core.storage.codec import from_item
from cashier_core.storage.conditions import n, s
from cashier_core.storage.conventions import raise_storage_error
from cashier_core.storage.tables import BY_CUSTOMER_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

COUNTER_PREFIX: Final = "deposit_limit"
AMOUNT_USED: Final = "amount_used"
DEPOSITS_USED: Final = "deposits_used"
BATCH_GET_LIMIT: Final = 100  # keys per BatchGetItem


def customer_deposits(
    client: DynamoDBClient, transactions_table: str, customer_id: str
) -> list[Transaction]:
    """Every deposit of the customer, across their accounts (the by_customer index)."""
    request: dict[str, Any] = {
        "TableName": transactions_table,
        "IndexName": BY_CUSTOMER_INDEX,
        "KeyConditionExpression": "customer_id = :customer",
        "FilterExpression": "#type = :deposit",
        "ExpressionAttributeNames": {"#type": "type"},
        "ExpressionAttributeValues": {
            ":customer": s(customer_id),
            ":deposit": s(TransactionType.DEPOSIT.value),
        },
    }
    found: list[Transaction] = []
    while True:
        try:
            response = client.query(**request)
        except ClientError as error:
            raise_storage_error(error)
        found.extend(from_item(Transaction, item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def limit_counter_id(customer_id: str, currency: str, counter_key: str) -> str:
    return f"{COUNTER_PREFIX}#{customer_id}#{currency}#{counter_key}"


def _key(transaction: Transaction, counter_key: str) -> dict[str, Any]:
    counter = limit_counter_id(transaction.customer_id, transaction.currency, counter_key)
    return {"counter_id": s(counter)}


def count_writes(
    table: str, transaction: Transaction, caps: Mapping[str, Cap]
) -> list[dict[str, Any]]:
    """The updates that count a new deposit in each period of `counted_in`;
    a period with a cap (by counter key in `caps`) only while it still fits."""
    writes: list[dict[str, Any]] = []
    for counter_key in transaction.counted_in:
        names = {"#amount": AMOUNT_USED, "#deposits": DEPOSITS_USED}
        values: dict[str, Any] = {
            ":amount": n(transaction.amount),
            ":one": n(1),
            ":customer": s(transaction.customer_id),
            ":currency": s(transaction.currency),
            ":period": s(counter_key),
        }
        update: dict[str, Any] = {
            "TableName": table,
            "Key": _key(transaction, counter_key),
            "UpdateExpression": (
                "ADD #amount :amount, #deposits :one SET customer_id = :customer, "
                "currency = :currency, period = :period"
            ),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        cap = caps.get(counter_key)
        conditions = []
        if cap is not None and cap.amount is not None:
            values[":amount_room"] = n(cap.amount - transaction.amount)
            conditions.append("(attribute_not_exists(#amount) OR #amount <= :amount_room)")
        if cap is not None and cap.count is not None:
            values[":count_room"] = n(cap.count - 1)
            conditions.append("(attribute_not_exists(#deposits) OR #deposits <= :count_room)")
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        writes.append({"Update": update})
    return writes


def release_writes(table: str, transaction: Transaction) -> list[dict[str, Any]]:
    """The updates that give a deposit's counted share back to the periods it was
    counted in; never below zero (a counter that would go negative cancels the
    whole change rather than lie)."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": _key(transaction, counter_key),
                "UpdateExpression": "ADD #amount :minus_amount, #deposits :minus_one",
                "ConditionExpression": "#amount >= :amount AND #deposits >= :one",
                "ExpressionAttributeNames": {"#amount": AMOUNT_USED, "#deposits": DEPOSITS_USED},
                "ExpressionAttributeValues": {
                    ":minus_amount": n(-transaction.amount),
                    ":minus_one": n(-1),
                    ":amount": n(transaction.amount),
                    ":one": n(1),
                },
            }
        }
        for counter_key in transaction.counted_in
    ]


def recount_writes(table: str, transaction: Transaction) -> list[dict[str, Any]]:
    """The updates that count a released deposit's share again, in the periods it
    was first counted in, with no cap: the money came in (limits.recounts_counted)."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": _key(transaction, counter_key),
                "UpdateExpression": "ADD #amount :amount, #deposits :one",
                "ExpressionAttributeNames": {"#amount": AMOUNT_USED, "#deposits": DEPOSITS_USED},
                "ExpressionAttributeValues": {":amount": n(transaction.amount), ":one": n(1)},
            }
        }
        for counter_key in transaction.counted_in
    ]


class DepositLimitStore:
    def __init__(self, client: DynamoDBClient, table_name: str, transactions_table: str) -> None:
        self._client = client
        self._table_name = table_name
        self._transactions_table = transactions_table

    def deposits_of(self, customer_id: str) -> list[Transaction]:
        return customer_deposits(self._client, self._transactions_table, customer_id)

    def usage(
        self, customer_id: str, currency: str, counter_keys: Iterable[str]
    ) -> dict[str, Usage]:
        """What the counters hold now, by counter key (a missing one is zero);
        one consistent BatchGetItem."""
        keys = list(dict.fromkeys(counter_keys))
        found: dict[str, Usage] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            found.update(self._usage(customer_id, currency, keys[start : start + BATCH_GET_LIMIT]))
        return found

    def _usage(self, customer_id: str, currency: str, keys: list[str]) -> dict[str, Usage]:
        by_id = {limit_counter_id(customer_id, currency, key): key for key in keys}
        wanted: dict[str, Any] = {
            self._table_name: {
                "Keys": [{"counter_id": s(counter)} for counter in by_id],
                "ConsistentRead": True,
            }
        }
        found: dict[str, Usage] = {}
        for _ in range(5):
            try:
                response = self._client.batch_get_item(RequestItems=wanted)
            except ClientError as error:
                raise_storage_error(error)
            for item in response.get("Responses", {}).get(self._table_name, []):
                counter = item["counter_id"]["S"]
                found[by_id[counter]] = Usage(
                    Decimal(item.get(AMOUNT_USED, {}).get("N", "0")),
                    int(item.get(DEPOSITS_USED, {}).get("N", "0")),
                )
            wanted = dict(response.get("UnprocessedKeys") or {})
            if not wanted:
                return found
        raise RetryableConflict("The deposit-limit counters could not be read; retry.")
