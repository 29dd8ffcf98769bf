"""One-off data migrations, run by hand from the runbook.

backfill_work_keys: items written before the sharded work index carry the
number `work_status` and no `work_key`. Each such item gets its `work_key` (or
none, when its type and status are no longer work: an approved withdrawal) and
loses `work_status`, in a conditional update pinned to the version it was read
at, so a status change racing the backfill always wins; that change writes the
right key itself. Safe to run again: it only looks at items with `work_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.conditions import LEGACY_WORK_STATUS, WORK_KEY, n, s, work_key_of
from cashier_core.storage.conventions import raise_storage_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True, slots=True)
class Backfilled:
    keyed: int  # given a work_key
    retired: int  # no longer work: work_status dropped, no key
    raced: int  # changed while we looked: its own status change keyed it


def backfill_work_keys(client: DynamoDBClient, table: str) -> Backfilled:
    keyed = retired = raced = 0
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "attribute_exists(#legacy)",
        "ExpressionAttributeNames": {"#legacy": LEGACY_WORK_STATUS},
        "ProjectionExpression": "transaction_id, #type, #status, #version",
    }
    request["ExpressionAttributeNames"].update(
        {"#type": "type", "#status": "status", "#version": "version"}
    )
    while True:
        page = client.scan(**request)
        for item in page.get("Items", []):
            transaction_id = item["transaction_id"]["S"]
            key = work_key_of(
                TransactionType(item["type"]["S"]), Status(int(item["status"]["N"])), transaction_id
            )
            update: dict[str, Any] = {
                "TableName": table,
                "Key": {"transaction_id": s(transaction_id)},
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version", "#legacy": LEGACY_WORK_STATUS},
                "ExpressionAttributeValues": {":version": n(item["version"]["N"])},
            }
            if key is None:
                update["UpdateExpression"] = "REMOVE #legacy"
            else:
                update["UpdateExpression"] = "SET #key = :key REMOVE #legacy"
                update["ExpressionAttributeNames"]["#key"] = WORK_KEY
                update["ExpressionAttributeValues"][":key"] = s(key)
            try:
                client.update_item(**update)
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    raced += 1
                    continue
                raise_storage_error(error)
            if key is None:
                retired += 1
            else:
                keyed += 1
        if "LastEvaluatedKey" not in page:
            return Backfilled(keyed, retired, raced)
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
