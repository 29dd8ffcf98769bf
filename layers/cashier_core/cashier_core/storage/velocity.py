"""The rate-limits table: one counter item per (what is counted, whom, which minute).

A slot is taken by one conditional ADD, so concurrent requests can never push a
counter past its limit; a refused request takes nothing. Items expire through
DynamoDB TTL; the minute is part of the key, so an item TTL has not deleted yet
never counts towards a later minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from cashier_core.storage.conventions import raise_storage_error
from cashier_core.storage.tables import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# TTL deletes within days, not at once; the margin only keeps the table small.
KEEP_AFTER_WINDOW: Final = timedelta(hours=1)


def counter_id(kind: str, subject: str, window_start: datetime) -> str:
    return f"{kind}#{subject}#{window_start:%Y-%m-%dT%H:%M}"


class RateLimitStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def take(self, counter: str, *, limit: int, window_end: datetime) -> bool:
        """Take one slot of `counter`; False (and nothing taken) when all `limit` are used."""
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"counter_id": {"S": counter}},
                UpdateExpression="ADD used :one SET #expires = :expires",
                ConditionExpression="attribute_not_exists(used) OR used < :limit",
                ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(int((window_end + KEEP_AFTER_WINDOW).timestamp()))},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise_storage_error(error)
        return True

    def used(self, counter: str) -> int:
        item = self._client.get_item(
            TableName=self._table_name, Key={"counter_id": {"S": counter}}, ConsistentRead=True
        ).get("Item")
        return int(item["used"]["N"]) if item else 0
