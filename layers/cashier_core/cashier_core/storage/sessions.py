"""The sessions table, read by the authorizer. Light on purpose (see
cashier_core.sessions): no pydantic, no domain models."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cashier_core.sessions import CustomerSession
from cashier_core.storage.conventions import format_timestamp, raise_storage_error
from cashier_core.storage.tables import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def session_item(session: CustomerSession) -> dict[str, Any]:
    # DynamoDB's TTL deletes expired sessions within days, not at once, so
    # the authorizer still checks expires_at itself.
    return {
        "token_hash": {"S": session.token_hash},
        "customer_id": {"S": session.customer_id},
        "brand_id": {"S": session.brand_id},
        "type": {"S": session.type},
        "expires_at": {"S": format_timestamp(session.expires_at)},
        TTL_ATTRIBUTE: {"N": str(int(session.expires_at.timestamp()))},
    }


def session_from_item(item: dict[str, Any]) -> CustomerSession:
    """ValueError for any row that is not a session as session_item writes it."""

    def string(name: str) -> str:
        attribute = item.get(name)
        value = attribute.get("S") if isinstance(attribute, dict) else None
        if not isinstance(value, str):
            raise ValueError(f"session {name} is not a string attribute")
        return value

    return CustomerSession(
        token_hash=string("token_hash"),
        customer_id=string("customer_id"),
        brand_id=string("brand_id"),
        type=string("type"),
        expires_at=datetime.fromisoformat(string("expires_at")),
    )


class SessionStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get(self, token_hash: str) -> CustomerSession | None:
        """None when there is no such row; ValueError when the row is unreadable."""
        try:
            response = self._client.get_item(
                TableName=self._table_name, Key={"token_hash": {"S": token_hash}}
            )
        except ClientError as error:
            raise_storage_error(error)
        item = response.get("Item")
        return session_from_item(dict(item)) if item else None

    def put(self, session: CustomerSession) -> None:
        self._client.put_item(TableName=self._table_name, Item=session_item(session))
