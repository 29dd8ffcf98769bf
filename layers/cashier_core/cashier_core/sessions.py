"""Customer sessions: the session authorizer's one read.

The platform's login service writes the sessions table; the cashier only reads
it (and the local seed writes demo sessions). This module is checked by hand
rather than with pydantic on purpose: the authorizer runs in front of every
customer request, and pydantic is a third of its cold start (docs/benchmarks.md).
So it imports nothing of the domain models, and a row it does not fully
understand is refused, never guessed at.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from cashier_core.errors import RetryableConflict
from cashier_core.storage.conventions import format_timestamp, is_retryable
from cashier_core.storage.tables import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

SESSION_CUSTOMER: Final = "SESSION_CUSTOMER"
_TOKEN_HASH: Final = re.compile(r"[0-9a-f]{64}")
MAX_IDENTIFIER_LENGTH: Final = 128  # as the domain's Identifier (models.py)
MAX_TYPE_LENGTH: Final = 64


def hash_session_token(token: str) -> str:
    """Sessions are stored by this hash, so a table leak yields no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _text(value: object, field: str, longest: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise ValueError(f"session {field} must be a string of 1 to {longest} characters")
    return value


@dataclass(frozen=True, slots=True)
class CustomerSession:
    """A row of the platform's sessions table. Other services write other session
    types there too, so `type` is any string and only SESSION_CUSTOMER passes."""

    token_hash: str
    customer_id: str
    brand_id: str
    type: str
    expires_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.token_hash, str) or not _TOKEN_HASH.fullmatch(self.token_hash):
            raise ValueError("session token_hash must be 64 lowercase hex digits")
        _text(self.customer_id, "customer_id", MAX_IDENTIFIER_LENGTH)
        _text(self.brand_id, "brand_id", MAX_IDENTIFIER_LENGTH)
        _text(self.type, "type", MAX_TYPE_LENGTH)
        if not isinstance(self.expires_at, datetime) or self.expires_at.utcoffset() is None:
            raise ValueError("session expires_at must be a timezone-aware time")

    def is_valid_at(self, moment: datetime) -> bool:
        return self.type == SESSION_CUSTOMER and self.expires_at > moment

    def to_item(self) -> dict[str, Any]:
        # DynamoDB's TTL deletes expired sessions within days, not at once, so
        # the authorizer still checks expires_at itself.
        return {
            "token_hash": {"S": self.token_hash},
            "customer_id": {"S": self.customer_id},
            "brand_id": {"S": self.brand_id},
            "type": {"S": self.type},
            "expires_at": {"S": format_timestamp(self.expires_at)},
            TTL_ATTRIBUTE: {"N": str(int(self.expires_at.timestamp()))},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CustomerSession:
        """ValueError for any row that is not a session as written above."""

        def string(name: str) -> str:
            attribute = item.get(name)
            value = attribute.get("S") if isinstance(attribute, dict) else None
            if not isinstance(value, str):
                raise ValueError(f"session {name} is not a string attribute")
            return value

        return cls(
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
            if is_retryable(error):
                raise RetryableConflict() from error
            raise
        item = response.get("Item")
        return CustomerSession.from_item(dict(item)) if item else None

    def put(self, session: CustomerSession) -> None:
        self._client.put_item(TableName=self._table_name, Item=session.to_item())
