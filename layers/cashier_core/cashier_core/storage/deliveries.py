"""Verified provider deliveries: stored once, the de-duplication record and the
evidence of what a provider said about a transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from cashier_core.models import WebhookDelivery
from cashier_core.storage.codec import from_item, to_item
from cashier_core.storage.conditions import s
from cashier_core.storage.conventions import raise_storage_error
from cashier_core.storage.tables import BY_TRANSACTION_INDEX, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Longer than any provider's retry window (Adyen retries for up to 30 days).
DELIVERY_RETENTION_SECONDS: Final = 35 * 24 * 60 * 60


def delivery_put(table: str, delivery: WebhookDelivery) -> dict[str, Any]:
    """The conditional put that makes a (provider, event id) land once."""
    expires = int(delivery.received_at.timestamp()) + DELIVERY_RETENTION_SECONDS
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(delivery, **{TTL_ATTRIBUTE: expires}),
            "ConditionExpression": "attribute_not_exists(delivery_id)",
        }
    }


class DeliveryStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, delivery: WebhookDelivery) -> bool:
        """Store a delivery that changed nothing (refused, ignored, unknown
        transaction). False when it was stored before: a duplicate."""
        try:
            self._client.put_item(**delivery_put(self._table, delivery)["Put"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise_storage_error(error)
        return True

    def of_transaction(self, transaction_id: str, *, limit: int = 20) -> list[WebhookDelivery]:
        """The verified provider deliveries about one transaction, oldest first."""
        response = self._client.query(
            TableName=self._table,
            IndexName=BY_TRANSACTION_INDEX,
            KeyConditionExpression="transaction_id = :transaction_id",
            ExpressionAttributeValues={":transaction_id": s(transaction_id)},
            Limit=limit,
        )
        return [
            from_item(WebhookDelivery, {k: v for k, v in item.items() if k != TTL_ATTRIBUTE})
            for item in response.get("Items", [])
        ]
