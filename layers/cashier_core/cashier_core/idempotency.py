"""Idempotency-Key for the POST endpoints, on Powertools Idempotency.

The first response for (operation, customer, key) is stored for 24 hours and
replayed; the same key with a different body is `idempotency_key_reused`.
A request that arrives while the first with its key is still running waits
for it (up to IN_PROGRESS_WAIT_SECONDS) and then answers with the same stored
response, so concurrent retries all see one answer; past the wait it is
`idempotency_request_in_progress`. Refusals raised before anything is written
are not stored, so a corrected retry may reuse the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.errors import IdempotencyInProgress, IdempotencyKeyReused

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

RETENTION_SECONDS: Final = 24 * 60 * 60
# Well inside the functions' 10 s timeout; the first request is one provider call.
IN_PROGRESS_WAIT_SECONDS: Final = 5.0

Reply = tuple[int, dict[str, Any]]


class IdempotentRequests:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        # The container's own client: without one, Powertools builds a new boto3
        # Session, which costs ~90 ms of every cold start (docs/benchmarks.md).
        self._persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb)
        self._config = IdempotencyConfig(
            event_key_jmespath="[operation, customer_id, idempotency_key]",
            payload_validation_jmespath="body",
            expires_after_seconds=RETENTION_SECONDS,
            raise_on_no_idempotency_key=True,
        )

    def run(
        self,
        *,
        operation: str,
        customer_id: str,
        idempotency_key: str,
        body: dict[str, Any],
        context: LambdaContext | None,
        produce: Callable[[], Reply],
    ) -> Reply:
        @idempotent_function(
            data_keyword_argument="request",
            config=self._config,
            persistence_store=self._persistence,
        )
        def execute(request: dict[str, Any]) -> dict[str, Any]:
            status, reply = produce()
            return {"status": status, "reply": reply}

        if context is not None:
            self._config.register_lambda_context(context)
        request = {
            "operation": operation,
            "customer_id": customer_id,
            "idempotency_key": idempotency_key,
            "body": body,
        }
        deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
        pause = 0.05
        while True:
            try:
                stored = execute(request=request)
            except IdempotencyValidationError as error:
                raise IdempotencyKeyReused() from error
            except IdempotencyAlreadyInProgressError as error:
                if time.monotonic() + pause > deadline:
                    raise IdempotencyInProgress() from error
                time.sleep(pause)  # the first request is still running: replay its answer
                pause = min(pause * 2, 0.5)
                continue
            return int(stored["status"]), stored["reply"]
