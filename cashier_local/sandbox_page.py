"""The sandbox provider's hosted payment page, served by the local stack.

GET /_sandbox/pay/<reference>?transaction_id=…&return_url=… shows the payment
with Pay, Fail and Cancel buttons. Each button POSTs back here; the page then
sends the correctly signed sandbox webhook to the local webhook URL over real
HTTP, as the real provider would, and redirects to the return_url (or to a
local "done" page when the deposit had none).
"""

from __future__ import annotations

import html
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from typing import Final
from urllib.parse import parse_qsl, urlencode

from cashier_core.errors import TransactionNotFound
from cashier_core.models import Transaction
from cashier_core.money import format_amount
from cashier_core.storage.transactions import TransactionStore
from cashier_local.gateway import Reply
from cashier_providers import signing

PREFIX: Final = "/_sandbox"
ACTIONS: Final = {"pay": "succeeded", "fail": "failed", "cancel": "cancelled"}


class SandboxPage:
    def __init__(
        self,
        transactions: TransactionStore,
        webhook_secret_for: Callable[[Transaction], str],
        api_url: str,
    ) -> None:
        self._transactions = transactions
        self._secret_for = webhook_secret_for
        self._api_url = api_url

    def handle(
        self, method: str, path: str, query: Sequence[tuple[str, str]], body: bytes
    ) -> Reply:
        if path == f"{PREFIX}/done":
            return _page(
                "Payment finished",
                f"<p>The sandbox reported: {html.escape(dict(query).get('status', ''))}.</p>",
            )
        if not path.startswith(f"{PREFIX}/pay/"):
            return Reply.json(
                404, {"error": {"code": "route_not_found", "message": "No such page."}}
            )
        reference = path.removeprefix(f"{PREFIX}/pay/")
        fields = (
            dict(query) if method == "GET" else dict(parse_qsl(body.decode("utf-8", "replace")))
        )
        transaction = self._find(fields.get("transaction_id", ""), reference)
        if transaction is None:
            return _page(
                "Unknown payment", "<p>No sandbox payment has this reference.</p>", status=404
            )
        if method == "GET":
            return self._show(transaction, reference, fields.get("return_url", ""))
        if method == "POST" and fields.get("action") in ACTIONS:
            return self._act(transaction, ACTIONS[fields["action"]], fields.get("return_url", ""))
        return _page("Bad request", "<p>Unknown action.</p>", status=400)

    def _find(self, transaction_id: str, reference: str) -> Transaction | None:
        try:
            transaction = self._transactions.get(transaction_id)
        except (TransactionNotFound, ValueError):
            return None
        if transaction.provider != "sandbox" or transaction.provider_reference != reference:
            return None
        return transaction

    def _show(self, transaction: Transaction, reference: str, return_url: str) -> Reply:
        amount = f"{format_amount(transaction.amount, transaction.currency)} {transaction.currency}"
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in (
                ("transaction_id", transaction.transaction_id),
                ("return_url", return_url),
            )
        )
        buttons = "".join(
            f'<form method="post" action="{PREFIX}/pay/{html.escape(reference)}">{hidden}'
            f'<button name="action" value="{action}">{action.capitalize()}</button></form>'
            for action in ACTIONS
        )
        body = (
            f"<p>Deposit <code>{html.escape(transaction.transaction_id)}</code></p>"
            f"<p class=amount>{html.escape(amount)}</p>{buttons}"
        )
        return _page("Sandbox payment", body)

    def _act(self, transaction: Transaction, status: str, return_url: str) -> Reply:
        document = {
            "event_id": f"evt_{uuid.uuid4().hex}",
            "transaction_id": transaction.transaction_id,
            "provider_reference": transaction.provider_reference,
            "status": status,
            "amount": format_amount(transaction.amount, transaction.currency),
            "currency": transaction.currency,
        }
        body = json.dumps(document).encode()
        header = signing.sign(body, self._secret_for(transaction), int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - our own loopback webhook URL
            f"{self._api_url}/cashier/webhook/sandbox",
            data=body,
            headers={"Content-Type": "application/json", "X-Sandbox-Signature": header},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                delivered = response.status
        except urllib.error.HTTPError as error:
            delivered = error.code
        if delivered != 200:
            return _page("Webhook refused", f"<p>The cashier answered {delivered}.</p>", status=502)
        target = return_url or f"{PREFIX}/done?{urlencode({'status': status})}"
        return Reply(303, [("Location", target), ("Content-Type", "text/plain")], b"")


def _page(title: str, body: str, status: int = 200) -> Reply:
    document = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:30em;margin:3em auto}"
        ".amount{font-size:2em}form{display:inline;margin-right:.5em}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Reply(status, [("Content-Type", "text/html; charset=utf-8")], document.encode())
