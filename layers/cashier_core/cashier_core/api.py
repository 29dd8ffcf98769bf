"""The one HTTP setup every endpoint shares (Powertools' REST resolver).

- every error leaves as `{"error": {"code", "message"}}` with its status;
  nothing else ever reaches the caller: no stack trace, no echoed input;
- the caller's identity comes only from the authorizer's context;
- bodies over MAX_BODY_BYTES are refused before any parsing;
- unknown query parameters are refused, not ignored (Powertools drops them).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.errors import (
    AmountNotAString,
    BodyTooLarge,
    CashierError,
    IdempotencyKeyRequired,
    MalformedJson,
    OperatorRequired,
    RequestInvalid,
    RouteNotFound,
    Unauthorized,
    UnknownField,
    UnsupportedMediaType,
)
from cashier_core.logs import logger
from cashier_core.schemas import ErrorReply
from cashier_core.telemetry import count

MAX_BODY_BYTES: Final = 16 * 1024
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9_-]{8,128}$"
BODILESS_METHODS: Final = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Caller:
    customer_id: str
    brand_id: str


def error_body(
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    error.update(fields or {})
    return json.dumps({"error": error})


def error_response(error: CashierError) -> Response[str]:
    return Response(
        status_code=error.http_status,
        content_type="application/json",
        body=error_body(error.code, error.message, fields=error.body_fields()),
    )


def _location(loc: Iterable[Any]) -> tuple[str, ...]:
    """Where a problem is, as the client sees it. Powertools puts the handler's
    parameter name into the location of a query model's fields
    (`query.query.account_id`); a query string is flat, so a name in the second
    place with a field after it is that parameter, and is dropped."""
    parts = tuple(loc)
    if len(parts) >= 3 and parts[0] == "query" and isinstance(parts[2], str):
        parts = (parts[0], *parts[2:])
    return tuple(str(part) for part in parts)


def _validation_error(error: RequestValidationError) -> CashierError:
    """Map pydantic's errors onto stable codes. Inputs are never echoed back."""
    problems = error.errors()
    first = problems[0] if problems else {}
    kind, location = first.get("type", ""), _location(first.get("loc", ()))
    where = ".".join(location)
    if kind == "json_invalid":
        return MalformedJson()
    if kind == "extra_forbidden":
        return UnknownField(f"Unknown field: {where}.")
    if location[:1] == ("header",) and "idempotency" in where.lower():
        return IdempotencyKeyRequired()
    if location[-1:] == ("amount",) and kind == "string_type":
        return AmountNotAString()
    described = "; ".join(
        f"{'.'.join(_location(problem.get('loc', ())))}: {problem.get('msg', '')}"
        for problem in problems[:5]
    )
    return RequestInvalid(f"The request is not valid: {described}.")


def create_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)

    def refused(error: CashierError) -> Response[str]:
        # Counted per route and reason: "why are deposits refused?" is a dashboard.
        route = app.current_event.resource or "unknown"
        count("RequestRefused", route=route, reason=error.code)
        logger.info("request refused", extra={"code": error.code, "route": route})
        return error_response(error)

    @app.exception_handler(CashierError)
    def _domain_error(error: CashierError) -> Response[str]:
        return refused(error)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        return refused(_validation_error(error))

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return error_response(RouteNotFound())

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        # A bug, never the caller's input: log it whole, answer without detail.
        logger.exception("unhandled error")
        return Response(
            status_code=500,
            content_type="application/json",
            body=error_body("internal_error", "The service failed; retry later."),
        )

    return app


def responses(
    success_status: int, success_model: type[Any], *errors: int, unauthenticated: int = 401
) -> dict[int, Any]:
    """OpenAPI responses of a route: its reply and the error statuses it can give
    (`unauthenticated`: 401 for a customer session, 403 for the IAM-signed API)."""
    documented: dict[int, Any] = {
        success_status: {
            "description": HTTPStatus(success_status).phrase,
            "content": {"application/json": {"model": success_model}},
        }
    }
    for status in (*errors, unauthenticated, 413, 415, 422):
        documented[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"model": ErrorReply}},
        }
    return documented


def json_response(status_code: int, body: Mapping[str, Any]) -> Response[str]:
    # Sorted keys: a replayed idempotent answer (read back from DynamoDB) is
    # byte-for-byte the first one.
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps(body, sort_keys=True),
    )


def body_size(event: Mapping[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8"))


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _refusal(error: CashierError) -> dict[str, Any]:
    return {
        "statusCode": error.http_status,
        "headers": {"Content-Type": "application/json"},
        "body": error_body(error.code, error.message, fields=error.body_fields()),
        "isBase64Encoded": False,
    }


def handle(
    app: APIGatewayRestResolver,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    max_body: int = MAX_BODY_BYTES,
    json_body: bool = True,
) -> dict[str, Any]:
    """Entry point of every API function: size and media-type guards, then the
    resolver. `json_body=False` for a route that reads its raw bytes (webhooks).
    A GET's body has no meaning in HTTP, yet API Gateway passes one on (SAM's
    generated events carry one): it is dropped, never refused, so the request is
    answered as the same GET without it, session check first."""
    if event.get("httpMethod") in BODILESS_METHODS and event.get("body") is not None:
        event = {**event, "body": None, "isBase64Encoded": False}
    if body_size(event) > max_body:
        return _refusal(BodyTooLarge(f"The body is over {max_body} bytes."))
    if json_body and event.get("body"):
        headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
        if not _is_json(headers.get("content-type")):
            return _refusal(UnsupportedMediaType())
        try:
            decode_base64_body(event).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _refusal(MalformedJson())  # JSON is UTF-8; API Gateway sent base64
    return app.resolve(event, context)


def current_caller(app: APIGatewayRestResolver) -> Caller:
    """Identity from the authorizer's context, never from the request."""
    context = app.current_event.request_context.authorizer.get_context() or {}
    customer_id, brand_id = context.get("customer_id"), context.get("brand_id")
    if not isinstance(customer_id, str) or not customer_id or not isinstance(brand_id, str):
        raise Unauthorized()
    return Caller(customer_id=customer_id, brand_id=brand_id)


def current_operator_principal(app: APIGatewayRestResolver) -> str:
    """The IAM principal API Gateway verified (AWS_IAM auth), never a header or body.
    A request that carries a customer's authorizer context is never an operator's."""
    context = app.current_event.request_context
    principal = context.identity.user_arn
    customer = (context.authorizer.get_context() or {}).get("customer_id")
    if not principal or customer:
        raise OperatorRequired()
    return principal


def reject_unknown_query(app: APIGatewayRestResolver, allowed: Iterable[str]) -> None:
    given = app.current_event.query_string_parameters or {}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise UnknownField(f"Unknown query parameter: {unknown[0]}.")


def decode_base64_body(event: Mapping[str, Any]) -> bytes:
    """The raw request body as bytes, as a signature check needs it."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")
