"""Lambda TOKEN authorizer for SESSION_CUSTOMER sessions.

The token's SHA-256 is looked up in the sessions table; the session must be of
type SESSION_CUSTOMER and not expired. The policy allows every route of the
stage, because API Gateway caches one answer per token for all routes. Any
failure raises "Unauthorized", which API Gateway answers with 401 (and our
gateway response body) without running a handler.

It sits in front of every customer request's cold start, so it imports neither
pydantic, nor the domain models, nor Powertools' event classes
(cashier_core.sessions and cashier_core.authorizer say why).
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.authorizer import allow_policy, stage_resource
from cashier_core.clock import utc_now
from cashier_core.logs import invocation_entry, logger
from cashier_core.sessions import hash_session_token
from cashier_core.settings import settings
from cashier_core.storage.sessions import SessionStore

sessions = SessionStore(boto3.client("dynamodb"), settings().tables.sessions)
BEARER = "Bearer "


def _unauthorized(reason: str) -> Exception:
    logger.info("session refused", extra={"reason": reason})  # never the token itself
    return Exception("Unauthorized")  # the exact text API Gateway maps to 401


@invocation_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    header = event.get("authorizationToken")
    if not isinstance(header, str) or not header.startswith(BEARER) or len(header) > 1024:
        raise _unauthorized("malformed header")
    try:
        resource = stage_resource(str(event.get("methodArn", "")))
    except ValueError:
        raise _unauthorized("not a method ARN") from None
    try:
        session = sessions.get(hash_session_token(header[len(BEARER) :]))
    except ValueError:  # a stored row that is not a session we understand
        raise _unauthorized("unreadable session") from None
    if session is None:
        raise _unauthorized("unknown token")
    if not session.is_valid_at(utc_now()):
        raise _unauthorized("expired or not a customer session")
    return allow_policy(
        session.customer_id,
        resource,
        {"customer_id": session.customer_id, "brand_id": session.brand_id},
    )
