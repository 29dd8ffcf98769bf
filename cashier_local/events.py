"""API Gateway REST proxy events (payload version 1.0), built as API Gateway builds them.

Used by the local gateway for every request, and to write the samples in events/.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

ACCOUNT_ID = "123456789012"
API_ID = "local"


def api_event(
    *,
    method: str,
    resource: str,
    path: str,
    stage: str = "v1",
    headers: Sequence[tuple[str, str]] = (),
    query: Sequence[tuple[str, str]] = (),
    path_parameters: Mapping[str, str] | None = None,
    body: bytes | None = None,
    authorizer: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A proxy event. Repeated headers and query keys keep every value in the
    multiValue maps and the last one in the single-value maps, as API Gateway does.
    Bodies that are not UTF-8 text arrive base64-encoded."""
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)

    encoded_body: str | None = None
    is_base64 = False
    if body is not None:
        try:
            encoded_body = body.decode("utf-8")
        except UnicodeDecodeError:
            encoded_body, is_base64 = base64.b64encode(body).decode("ascii"), True

    now = time.time()
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "protocol": "HTTP/1.1",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "extendedRequestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "domainName": "127.0.0.1",
        "identity": {
            "sourceIp": source_ip,
            "userAgent": single_headers.get("User-Agent", ""),
            **(identity or {}),
        },
    }
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": encoded_body,
        "isBase64Encoded": is_base64,
    }


def authorizer_context(customer_id: str, brand_id: str) -> dict[str, Any]:
    """What our authorizer's context looks like once API Gateway passes it on."""
    return {
        "principalId": customer_id,
        "customer_id": customer_id,
        "brand_id": brand_id,
        "integrationLatency": 3,
    }


def operator_identity(principal: str) -> dict[str, Any]:
    """requestContext.identity of a request API Gateway verified by SigV4 (AWS_IAM)."""
    return {
        "userArn": principal,
        "caller": principal.rsplit("/", 1)[-1],
        "user": principal.rsplit("/", 1)[-1],
        "accountId": principal.split(":")[4],
        "accessKey": "ASIALOCALDEVELOPMENT",
    }
