"""Idempotency-Key for the POST endpoints, on Powertools Idempotency.

The first response for (operation, customer, key) is stored for 24 hours and
replayed; the same key with a different body is `idempotency_key_reused`; a
second request while the first is still running is
`idempotency_request_in_progress`. Refusals raised before anything is written
are not stored, so a corrected retry may reuse the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Final

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

RETENTION_SECONDS: Final = 24 * 60 * 60

Reply = tuple[int, dict[str, Any]]


class IdempotentRequests:
    def __init__(self, table_name: str | None = None) -> None:
        self._persistence = DynamoDBPersistenceLayer(
            table_name=table_name or os.environ["IDEMPOTENCY_TABLE"]
        )
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
        try:
            stored = execute(
                request={
                    "operation": operation,
                    "customer_id": customer_id,
                    "idempotency_key": idempotency_key,
                    "body": body,
                }
            )
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused() from error
        except IdempotencyAlreadyInProgressError as error:
            raise IdempotencyInProgress() from error
        return int(stored["status"]), stored["reply"]
