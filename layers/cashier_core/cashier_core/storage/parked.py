"""Parked provider events: verified, naming no transaction of ours yet.

They live in the webhook deliveries table under their own key prefix
("parked#..."), so a parked event and the delivery it becomes once applied sit
side by side, and the sparse `by_parked_state` index lists what is still open
or was given up on. A parked event is removed once its delivery is stored."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from cashier_core.models import ParkedEvent, ParkedState
from cashier_core.storage.codec import from_item, to_item
from cashier_core.storage.conditions import s
from cashier_core.storage.conventions import format_timestamp, raise_storage_error
from cashier_core.storage.deliveries import DELIVERY_RETENTION_SECONDS
from cashier_core.storage.tables import BY_PARKED_STATE_INDEX, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# The index's key: present while open or unresolved.
PARKED_STATE: Final = "parked_state"
PAGE: Final = 100


class ParkedStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def park(self, event: ParkedEvent) -> bool:
        """Keep an event; False when it is parked already (a provider's retry)."""
        expires = int(event.received_at.timestamp()) + DELIVERY_RETENTION_SECONDS
        item = to_item(event, **{TTL_ATTRIBUTE: expires, PARKED_STATE: event.state.value})
        item["delivery_id"] = s(event.parked_id)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(delivery_id)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise_storage_error(error)
        return True

    def in_state(
        self, state: ParkedState, *, received_before: datetime | None = None
    ) -> list[ParkedEvent]:
        """The oldest parked events in `state`, a page at a time."""
        condition = "#state = :state"
        values = {":state": s(state.value)}
        if received_before is not None:
            condition += " AND received_at < :before"
            values[":before"] = s(format_timestamp(received_before))
        response = self._client.query(
            TableName=self._table,
            IndexName=BY_PARKED_STATE_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#state": PARKED_STATE},
            ExpressionAttributeValues=values,
            Limit=PAGE,
        )
        return [from_item(ParkedEvent, item) for item in response.get("Items", [])]

    def give_up(self, event: ParkedEvent) -> bool:
        """Mark an open event unresolved; False when it was resolved or marked meanwhile."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"delivery_id": s(event.parked_id)},
                UpdateExpression="SET #state = :unresolved, #model_state = :unresolved",
                ConditionExpression="#state = :open",
                ExpressionAttributeNames={"#state": PARKED_STATE, "#model_state": "state"},
                ExpressionAttributeValues={
                    ":unresolved": s(ParkedState.UNRESOLVED.value),
                    ":open": s(ParkedState.OPEN.value),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise_storage_error(error)
        return True

    def resolved(self, event: ParkedEvent) -> None:
        """Its delivery is stored: the parked copy goes."""
        try:
            self._client.delete_item(TableName=self._table, Key={"delivery_id": s(event.parked_id)})
        except ClientError as error:
            raise_storage_error(error)
