"""API Gateway, locally: the template's routes, its authorizer and its gateway responses.

For each request it does what API Gateway (REST, proxy integration) does:
find the route template.yaml maps the method and path to; on routes with the
default authorizer, check the identity header against the ValidationExpression,
run the authorizer function (caching its answer per token for ReauthorizeEvery
seconds) and enforce its policy; build the version 1.0 proxy event; invoke the
function's real handler; and turn failures into the template's gateway
responses (UNAUTHORIZED, ACCESS_DENIED, REQUEST_TOO_LARGE,
MISSING_AUTHENTICATION_TOKEN, DEFAULT_5XX for a function that fails).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cashier_local import template
from cashier_local.events import ACCOUNT_ID, API_ID, api_event
from cashier_local.functions import LocalFunctions

# API Gateway's own payload limit for REST APIs.
MAX_PAYLOAD_BYTES: Final = 10 * 1024 * 1024
REGION: Final = "eu-west-1"

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Headers
    body: bytes

    @classmethod
    def json(cls, status: int, document: Any) -> Reply:
        return cls(status, [("Content-Type", "application/json")], json.dumps(document).encode())


@dataclass(frozen=True)
class _CompiledRoute:
    route: template.Route
    pattern: re.Pattern[str]


def _compile(route: template.Route) -> _CompiledRoute:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return _CompiledRoute(route, re.compile(f"^{regex}$"))


class Gateway:
    def __init__(self, functions: LocalFunctions, settings: template.ApiSettings) -> None:
        self._functions = functions
        self._settings = settings
        self._routes = [_compile(route) for route in template.routes()]
        self._validation = (
            re.compile(settings.validation_expression) if settings.validation_expression else None
        )
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def _gateway_response(self, kind: str, default_status: int, message: str = "") -> Reply:
        response = self._settings.gateway_responses.get(kind)
        if response is None:
            return Reply.json(default_status, {"message": message})
        body = response.body.replace("$context.error.messageString", message)
        return Reply(
            response.status or default_status, [("Content-Type", "application/json")], body.encode()
        )

    def _match(self, method: str, path: str) -> tuple[template.Route, dict[str, str]] | None:
        for compiled in self._routes:
            if compiled.route.method != method:
                continue
            found = compiled.pattern.match(path)
            if found:
                return compiled.route, found.groupdict()
        return None

    def _method_arn(self, method: str, path: str) -> str:
        api = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}"
        return f"{api}/{self._settings.stage}/{method}{path}"

    def _authorize(self, method: str, path: str, headers: Headers) -> dict[str, Any] | Reply:
        wanted = self._settings.identity_header.lower()
        token = next((value for name, value in headers if name.lower() == wanted), None)
        if not token or (self._validation and not self._validation.match(token)):
            return self._gateway_response("UNAUTHORIZED", 401, "Unauthorized")
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(token)
        if cached and cached[0] > now:
            policy = cached[1]
        else:
            event = {
                "type": "TOKEN",
                "authorizationToken": token,
                "methodArn": self._method_arn(method, path),
            }
            try:
                policy = self._functions.invoke(self._settings.authorizer_function, event)
            except Exception as error:  # noqa: BLE001 - any authorizer failure is a gateway answer
                if str(error) == "Unauthorized":
                    return self._gateway_response("UNAUTHORIZED", 401, "Unauthorized")
                return self._gateway_response("DEFAULT_5XX", 500, "Authorizer failed")
            with self._cache_lock:
                self._cache[token] = (now + self._settings.cache_seconds, policy)
        if not _allows(policy, self._method_arn(method, path)):
            return self._gateway_response("ACCESS_DENIED", 403, "Forbidden")
        return {**policy.get("context", {}), "principalId": policy.get("principalId")}

    def handle(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Headers,
        body: bytes,
    ) -> Reply:
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response("REQUEST_TOO_LARGE", 413, "Request Too Long")
        matched = self._match(method, path)
        if matched is None:
            return self._gateway_response(
                "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
            )
        route, path_parameters = matched
        authorizer: dict[str, Any] | None = None
        if route.authorized:
            outcome = self._authorize(method, path, headers)
            if isinstance(outcome, Reply):
                return outcome
            authorizer = outcome
        event = api_event(
            method=method,
            resource=route.path,
            path=path,
            stage=self._settings.stage,
            headers=headers,
            query=query,
            path_parameters=path_parameters or None,
            body=body if body else None,
            authorizer=authorizer,
        )
        try:
            response = self._functions.invoke(route.function_id, event)
        except Exception:  # noqa: BLE001 - a function error is API Gateway's 502
            return self._gateway_response("DEFAULT_5XX", 502, "Internal server error")
        return _proxy_reply(response)


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    def matches(statement: dict[str, Any]) -> bool:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        return any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources)

    statements = policy.get("policyDocument", {}).get("Statement", [])
    if any(s.get("Effect") == "Deny" and matches(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and matches(s) for s in statements)


def _proxy_reply(response: Any) -> Reply:
    if not isinstance(response, dict) or "statusCode" not in response:
        return Reply.json(502, {"message": "Internal server error"})
    headers: Headers = list((response.get("headers") or {}).items())
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((name, value) for value in values)
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
    return Reply(int(response["statusCode"]), headers, body)
