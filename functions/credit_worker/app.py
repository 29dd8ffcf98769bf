"""Credit worker on the credit queue. Lands with the Payment modules issue; until
then it reports every record as failed, so nothing is acknowledged unprocessed."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    failures = [{"itemIdentifier": record["messageId"]} for record in event.get("Records", [])]
    return {"batchItemFailures": failures}
