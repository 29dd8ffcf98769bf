"""Customer sessions: what the session authorizer checks.

The platform's login service writes the sessions table; the cashier only reads
it (and the local seed writes demo sessions). Checked by hand rather than with
pydantic on purpose: the authorizer runs in front of every customer request,
and pydantic is a third of its cold start (docs/benchmarks.md). So this module
and storage/sessions.py import nothing of the domain models, and a row that is
not fully understood is refused, never guessed at.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

SESSION_CUSTOMER: Final = "SESSION_CUSTOMER"
_TOKEN_HASH: Final = re.compile(r"[0-9a-f]{64}")
# Every identifier of the domain (models.Identifier) has this bound; it lives
# here so that the authorizer need not import the models.
MAX_IDENTIFIER_LENGTH: Final = 128
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
