"""The one Powertools Logger every module logs through, and the correlation id
each kind of entry point puts on every line it logs.

- API functions: API Gateway's request id (`api_entry`), so a customer's
  complaint quoting it finds every line of that request;
- scheduled functions and the authorizer: the invocation's request id
  (`invocation_entry`);
- the credit worker: the invocation's request id, then each record's SQS
  message id while that record is handled (`logger.set_correlation_id`).

Its own module rather than telemetry.py: the authorizer logs too, and should
not import Powertools Metrics for it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

type Handler[R] = Callable[[Any, LambdaContext], R]


def api_entry[R](handler: Handler[R]) -> Handler[R]:
    """An API Gateway (REST) function's handler: lines carry the request id."""
    return logger.inject_lambda_context(
        handler, correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
    )


def invocation_entry[R](handler: Handler[R]) -> Handler[R]:
    """Any other function's handler: lines carry the invocation's request id."""

    @functools.wraps(handler)
    def with_request_id(event: Any, context: LambdaContext) -> R:
        logger.set_correlation_id(context.aws_request_id)
        return handler(event, context)

    return logger.inject_lambda_context(with_request_id, clear_state=True)
