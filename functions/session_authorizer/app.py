"""Lambda authorizer for SESSION_CUSTOMER sessions. Lands with the Customer API issue;
until then it refuses every token, which API Gateway answers with 401."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    raise Exception("Unauthorized")  # API Gateway's documented way to answer 401
