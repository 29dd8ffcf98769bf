"""moto's server on loopback, one request at a time.

moto's backends are not safe under concurrent requests, so one lock around its
WSGI app serializes them; each DynamoDB call is then atomic, as it is in AWS.
The server runs in a thread of the local stack's own process and stops with it.

SQS long polling (ReceiveMessage with WaitTimeSeconds, as Lambda's event source
mapping polls) is served here rather than inside moto: moto would wait inside
the request, holding the one lock and stalling every other call. Here each try
is an immediate receive under the lock; between tries the lock is free and the
poll sleeps until another SQS call may have made a message visible (or a
second passes, for visibility timeouts and delays running out). The protocol
botocore speaks to SQS (JSON, `X-Amz-Target: AmazonSQS.ReceiveMessage`) is the
one handled; anything else passes through unchanged.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

# moto.server re-exports these without declaring them; import them from their home.
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

SQS_TARGET_PREFIX: Final = "AmazonSQS."
RECEIVE_TARGET: Final = "AmazonSQS.ReceiveMessage"
# Visibility timeouts and delays end without any call; look again this often.
RECHECK_SECONDS: Final = 1.0
MAX_WAIT_SECONDS: Final = 20


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def _with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    return {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}


class LocalAwsServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        # Bumped after every SQS call other than a receive: a long poll waits on it.
        self._sqs_changed = threading.Condition()
        self._generation = 0
        self._stopping = False
        self._server: BaseWSGIServer = make_server(
            host, port, self._serve, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def _call(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))

    def _serve(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target == RECEIVE_TARGET:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            try:
                request = json.loads(body or b"{}")
                wait = float(request.get("WaitTimeSeconds") or 0)
            except (ValueError, TypeError, AttributeError):
                wait = 0.0  # moto answers the malformed request itself
            if 0 < wait <= MAX_WAIT_SECONDS:  # moto answers any other value itself
                request["WaitTimeSeconds"] = 0
                return self._long_poll(environ, start_response, json.dumps(request).encode(), wait)
            environ = _with_body(environ, body)
        answer = self._call(environ, start_response)
        if target.startswith(SQS_TARGET_PREFIX):
            with self._sqs_changed:
                self._generation += 1
                self._sqs_changed.notify_all()
        return answer

    def _long_poll(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        immediate_request: bytes,
        wait_seconds: float,
    ) -> list[bytes]:
        deadline = time.monotonic() + wait_seconds
        while True:
            with self._sqs_changed:
                seen = self._generation
            started = _StartResponse()
            answer = self._call(_with_body(environ, immediate_request), started)
            remaining = deadline - time.monotonic()
            if _has_messages(started.status, answer) or remaining <= 0 or self._stopping:
                start_response(*started.arguments)
                return answer
            with self._sqs_changed:
                self._sqs_changed.wait_for(
                    functools.partial(self._changed_since, seen),
                    timeout=min(remaining, RECHECK_SECONDS),
                )

    def _changed_since(self, generation: int) -> bool:
        return self._generation != generation or self._stopping

    @property
    def endpoint(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}"

    def start(self) -> str:
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        with self._sqs_changed:
            self._stopping = True  # open long polls answer now, empty
            self._sqs_changed.notify_all()
        self._server.shutdown()
        self._server.server_close()


class _StartResponse:
    """Holds a try's status and headers until the poll decides to answer."""

    def __init__(self) -> None:
        self.arguments: tuple[Any, ...] = ()

    @property
    def status(self) -> str:
        return str(self.arguments[0]) if self.arguments else ""

    def __call__(self, status: str, headers: list[Any], exc_info: Any = None) -> None:
        self.arguments = (status, headers, exc_info)


def _has_messages(status: str, answer: list[bytes]) -> bool:
    """True when the immediate receive found messages, or failed (an error is
    answered at once, as SQS does, never waited out)."""
    if not status.startswith("200"):
        return True
    try:
        return bool(json.loads(b"".join(answer) or b"{}").get("Messages"))
    except (ValueError, AttributeError):
        return True
