"""API Gateway, locally: the template's routes, its authorizer and its gateway responses.

For each request it does what API Gateway (REST, proxy integration) does:
find the route template.yaml maps the method and path to (on either API);
on routes with a Lambda authorizer, check the identity header against the
ValidationExpression, run the authorizer function (caching its answer per
token for ReauthorizeEvery seconds) and enforce its policy; build the version
1.0 proxy event; invoke the function's real handler; and turn failures into
that API's gateway responses (UNAUTHORIZED, ACCESS_DENIED, REQUEST_TOO_LARGE,
MISSING_AUTHENTICATION_TOKEN, DEFAULT_5XX for a function that fails).

AWS_IAM routes (the BackOffice API) need a SigV4 signature in AWS. Locally,
and only from a loopback address, the development principal header stands in
for it: `X-Cashier-Dev-Principal: arn:aws:sts::123456789012:assumed-role/...`
becomes the request's identity.userArn, as a verified signature would.
"""

from __future__ import annotations

import base64
import fnmatch
import ipaddress
import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cashier_local import template
from cashier_local.events import ACCOUNT_ID, API_ID, api_event, operator_identity
from cashier_local.functions import LocalFunctions

# API Gateway's own payload limit for REST APIs.
MAX_PAYLOAD_BYTES: Final = 10 * 1024 * 1024
REGION: Final = "eu-west-1"
DEV_PRINCIPAL_HEADER: Final = "X-Cashier-Dev-Principal"
DEV_PRINCIPAL_PATTERN: Final = re.compile(
    r"^arn:aws:(iam|sts)::\d{12}:(role|user|assumed-role)/[A-Za-z0-9+=,.@_/-]{1,512}$"
)

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
    def __init__(
        self, functions: LocalFunctions, settings: dict[str, template.ApiSettings]
    ) -> None:
        self._functions = functions
        self._settings = settings
        self._routes = [_compile(route) for route in template.routes()]
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def _api_of(self, path: str) -> str:
        """The API a path belongs to, for answering a route that does not exist."""
        first = path.strip("/").split("/", 1)[0]
        for compiled in self._routes:
            if compiled.route.path.strip("/").split("/", 1)[0] == first:
                return compiled.route.api_id
        return "CashierApi"

    def _gateway_response(
        self, api_id: str, kind: str, default_status: int, message: str = ""
    ) -> Reply:
        response = self._settings[api_id].gateway_responses.get(kind)
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

    def _method_arn(self, api_id: str, method: str, path: str) -> str:
        api = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}"
        return f"{api}/{self._settings[api_id].stage}/{method}{path}"

    def _authorize(
        self, api_id: str, method: str, path: str, headers: Headers
    ) -> dict[str, Any] | Reply:
        settings = self._settings[api_id]
        if settings.authorizer_function is None:
            raise ValueError(f"{api_id} has no Lambda authorizer")
        wanted = settings.identity_header.lower()
        token = next((value for name, value in headers if name.lower() == wanted), None)
        validation = settings.validation_expression
        if not token or (validation and not re.match(validation, token)):
            return self._gateway_response(api_id, "UNAUTHORIZED", 401, "Unauthorized")
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(token)
        if cached and cached[0] > now:
            policy = cached[1]
        else:
            event = {
                "type": "TOKEN",
                "authorizationToken": token,
                "methodArn": self._method_arn(api_id, method, path),
            }
            try:
                policy = self._functions.invoke(settings.authorizer_function, event)
            except Exception as error:  # noqa: BLE001 - any authorizer failure is a gateway answer
                if str(error) == "Unauthorized":
                    return self._gateway_response(api_id, "UNAUTHORIZED", 401, "Unauthorized")
                return self._gateway_response(api_id, "DEFAULT_5XX", 500, "Authorizer failed")
            with self._cache_lock:
                self._cache[token] = (now + settings.cache_seconds, policy)
        if not _allows(policy, self._method_arn(api_id, method, path)):
            return self._gateway_response(api_id, "ACCESS_DENIED", 403, "Forbidden")
        return {**policy.get("context", {}), "principalId": policy.get("principalId")}

    def _iam_identity(
        self, api_id: str, headers: Headers, client_ip: str
    ) -> dict[str, Any] | Reply:
        """The development principal header, from loopback only, as a verified SigV4 caller."""
        wanted = DEV_PRINCIPAL_HEADER.lower()
        principal = next((value for name, value in headers if name.lower() == wanted), None)
        if (
            not _is_loopback(client_ip)
            or not principal
            or not DEV_PRINCIPAL_PATTERN.match(principal)
        ):
            return self._gateway_response(
                api_id, "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
            )
        return operator_identity(principal)

    def _authenticate(
        self, route: template.Route, method: str, path: str, headers: Headers, client_ip: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Headers] | Reply:
        """(authorizer context, IAM identity, headers passed on), or the gateway's refusal."""
        if route.auth == template.SESSION_AUTH:
            outcome = self._authorize(route.api_id, method, path, headers)
            return outcome if isinstance(outcome, Reply) else (outcome, None, headers)
        if route.auth == template.IAM_AUTH:
            verified = self._iam_identity(route.api_id, headers, client_ip)
            if isinstance(verified, Reply):
                return verified
            # Like a SigV4 signature, it is consumed by the gateway.
            wanted = DEV_PRINCIPAL_HEADER.lower()
            return None, verified, [(n, v) for n, v in headers if n.lower() != wanted]
        return None, None, headers

    def handle(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Headers,
        body: bytes,
        *,
        client_ip: str = "127.0.0.1",
    ) -> Reply:
        matched = self._match(method, path)
        api_id = matched[0].api_id if matched else self._api_of(path)
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response(api_id, "REQUEST_TOO_LARGE", 413, "Request Too Long")
        if matched is None:
            return self._gateway_response(
                api_id, "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
            )
        route, path_parameters = matched
        authenticated = self._authenticate(route, method, path, headers, client_ip)
        if isinstance(authenticated, Reply):
            return authenticated
        authorizer, identity, headers = authenticated
        event = api_event(
            method=method,
            resource=route.path,
            path=path,
            stage=self._settings[api_id].stage,
            headers=headers,
            query=query,
            path_parameters=path_parameters or None,
            body=body if body else None,
            authorizer=authorizer,
            identity=identity,
            source_ip=client_ip,
        )
        try:
            response = self._functions.invoke(route.function_id, event)
        except Exception:  # noqa: BLE001 - a function error is API Gateway's 502
            return self._gateway_response(api_id, "DEFAULT_5XX", 502, "Internal server error")
        return _proxy_reply(response)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


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
