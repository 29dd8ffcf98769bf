"""What every store agrees on: the stored time format and which DynamoDB
refusals are worth retrying. Free of the domain models on purpose: the session
authorizer imports it (cashier_core.sessions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, NoReturn

from botocore.exceptions import ClientError

from cashier_core.errors import RetryableConflict

# Codes (of a cancellation reason or of the call itself) after which the same
# request may succeed: contention and throttling, never a failed condition.
RETRYABLE_CODES: Final = frozenset(
    {
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
        "ThrottlingError",
        "ThrottlingException",
        "ProvisionedThroughputExceeded",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)


def format_timestamp(moment: datetime) -> str:
    """Fixed width, so that string order is time order in sort keys."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def raise_storage_error(error: ClientError) -> NoReturn:
    """What every store does with a DynamoDB refusal it has no special meaning
    for: RetryableConflict (409 `conflict_retry`) for contention and
    throttling, the error itself otherwise."""
    if error.response.get("Error", {}).get("Code", "") in RETRYABLE_CODES:
        raise RetryableConflict() from error
    raise error
