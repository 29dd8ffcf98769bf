"""Stripe's and Adyen's APIs stood in on loopback, answering with the providers'
published objects (tests/fixtures/stripe; Adyen's documented paymentLinks
answer) filled with what was asked, and remembering every request.

Why our own: stripe-mock is a Go binary and Adyen publishes no mock; the cashier
needs only a Checkout Session's create and retrieve and a Payment Link's create.
Started and stopped by the test that uses them; they listen on 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.support.providers import stripe_object


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeProviders:
    """One loopback server for both APIs: Stripe under /v1, Adyen under /v71."""

    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProviders:
        fakes = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, document: Any) -> None:
                raw = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorded = Recorded("POST", self.path, dict(self.headers), body)
                fakes.requests.append(recorded)
                if self.path == "/v1/checkout/sessions":
                    self._answer(200, fakes.checkout_session(recorded.form()))
                elif self.path.endswith("/paymentLinks"):
                    self._answer(201, fakes.payment_link(recorded.json()))
                else:
                    self._answer(404, {"error": {"type": "invalid_request_error"}})

            def do_GET(self) -> None:
                fakes.requests.append(Recorded("GET", self.path, dict(self.headers), b""))
                session_id = self.path.removeprefix("/v1/checkout/sessions/")
                if session_id in fakes.sessions:
                    self._answer(200, fakes.sessions[session_id])
                else:
                    self._answer(404, {"error": {"type": "invalid_request_error"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # --- the answers ----------------------------------------------------------
    def checkout_session(self, form: dict[str, str]) -> dict[str, Any]:
        session_id = f"cs_test_{uuid.uuid4().hex}"
        amount = int(form["line_items[0][price_data][unit_amount]"])
        session = stripe_object(
            "checkout_session",
            id=session_id,
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
            client_reference_id=form.get("client_reference_id"),
            metadata={"transaction_id": form.get("metadata[transaction_id]", "")},
            currency=form["line_items[0][price_data][currency]"],
            amount_total=amount,
            amount_subtotal=amount,
            mode="payment",
            status="open",
            payment_status="unpaid",
            payment_intent=None,
            success_url=form.get("success_url"),
            cancel_url=form.get("cancel_url"),
        )
        self.sessions[session_id] = session
        return session

    def payment_link(self, request: dict[str, Any]) -> dict[str, Any]:
        """Adyen's documented /paymentLinks answer, with what was asked."""
        link_id = f"PL{uuid.uuid4().hex[:14].upper()}"
        return {
            "amount": request["amount"],
            "expiresAt": "2026-12-08T12:00:00Z",
            "id": link_id,
            "merchantAccount": request["merchantAccount"],
            "reference": request["reference"],
            "reusable": False,
            "returnUrl": request.get("returnUrl", ""),
            "status": "active",
            "url": f"https://test.adyen.link/{link_id}",
        }

    def created(self, path_suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(path_suffix)]
