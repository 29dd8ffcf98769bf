"""The sandbox provider's hosted payment page, served by the local stack.

GET /_sandbox/pay/<reference>?transaction_id=…&return_url=… is a checkout page
a person recognises: the brand, the amount and currency, a TEST MODE banner and
a card form that takes the sandbox's test cards, like a card network's:

    4242 4242 4242 4242   succeeds
    4000 0000 0000 0002   is declined
    4000 0025 0000 3155   asks for 3-D Secure first (a challenge step)

Any future expiry and any 3 digits of CVC do. Paying, failing or cancelling
sends the correctly signed sandbox webhook to the local webhook URL over real
HTTP, as the real provider would, then redirects to the return_url when its
host resolves on this machine, and otherwise to the local return page
(/_sandbox/return/<reference>), which shows the result as the cashier records
it. Revisited after paying, the payment page shows the status, not the form.

Server-rendered HTML with inline CSS and no script or external asset; every
value written into a page is escaped. A return_url is only ever followed when
it is one the deposit could have had (https on one of the brand's hosts).
"""

from __future__ import annotations

import concurrent.futures
import html
import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from cashier_core.deposits import validate_return_url
from cashier_core.errors import ReturnUrlInvalid, TransactionNotFound
from cashier_core.models import BrandSettings, Transaction
from cashier_core.money import format_amount
from cashier_core.statuses import Status
from cashier_core.storage.transactions import TransactionStore
from cashier_local.gateway import Reply
from cashier_providers import signing

PREFIX: Final = "/_sandbox"
PAY: Final = f"{PREFIX}/pay/"
RETURN: Final = f"{PREFIX}/return/"
SUCCEEDS: Final = "4242424242424242"
DECLINED: Final = "4000000000000002"
NEEDS_3DS: Final = "4000002500003155"
TEST_CARDS: Final = (
    (SUCCEEDS, "Succeeds"),
    (DECLINED, "Declined by the card issuer"),
    (NEEDS_3DS, "Asks for 3-D Secure, then succeeds or fails as you choose"),
)
# The sandbox webhook's status for each card that needs no challenge, and for
# each button that is not the card form's Pay.
CARD_OUTCOMES: Final = {SUCCEEDS: "succeeded", DECLINED: "failed"}
ACTIONS: Final = {"cancel": "cancelled", "3ds_complete": "succeeded", "3ds_fail": "failed"}
PAYABLE: Final = frozenset({Status.CREATED, Status.PENDING_PAYMENT})
# While the result may still change on its own (webhook or credit in flight).
SETTLING: Final = frozenset({Status.PENDING_PAYMENT, Status.PROVIDER_CONFIRMED})
RESOLVE_SECONDS: Final = 2.0


@dataclass(frozen=True)
class Outcome:
    tone: str  # ok, bad or wait: the colour of the result card
    headline: str
    detail: str


OUTCOMES: Final = {
    Status.CREATED: Outcome("wait", "Awaiting payment", "The payment has not been made yet."),
    Status.PENDING_PAYMENT: Outcome(
        "wait", "Awaiting payment", "The payment has not been made yet."
    ),
    Status.PROVIDER_CONFIRMED: Outcome(
        "wait", "Payment received", "The deposit is being credited to the trading account."
    ),
    Status.CREDITED: Outcome(
        "ok", "Payment successful", "The deposit was credited to the trading account."
    ),
    Status.CREDIT_FAILED: Outcome(
        "wait", "Payment received", "Crediting the account failed; support has been alerted."
    ),
    Status.FAILED: Outcome("bad", "Payment failed", "The card was declined. Nothing was charged."),
    Status.CANCELLED: Outcome("bad", "Payment cancelled", "Nothing was charged."),
    Status.REFUNDED: Outcome("bad", "Payment refunded", "The payment was refunded."),
    Status.CHARGEBACK: Outcome("bad", "Payment charged back", "The payment was disputed."),
    Status.MANUAL_REVIEW: Outcome(
        "wait", "Payment under review", "A person checks this payment before it is credited."
    ),
}


class SandboxPage:
    def __init__(
        self,
        transactions: TransactionStore,
        webhook_secret_for: Callable[[Transaction], str],
        api_url: str,
        brands: dict[str, BrandSettings] | None = None,
        resolves: Callable[[str], bool] | None = None,
    ) -> None:
        self._transactions = transactions
        self._secret_for = webhook_secret_for
        self._api_url = api_url
        self._brands = brands or {}
        self._resolves = resolves or resolves_locally

    def handle(
        self, method: str, path: str, query: Sequence[tuple[str, str]], body: bytes
    ) -> Reply:
        if path.startswith(PAY):
            page, reference = "pay", path.removeprefix(PAY)
        elif path.startswith(RETURN) and method in ("GET", "HEAD"):
            page, reference = "return", path.removeprefix(RETURN)
        else:
            return Reply.json(
                404, {"error": {"code": "route_not_found", "message": "No such page."}}
            )
        fields = (
            dict(query)
            if method in ("GET", "HEAD")
            else dict(parse_qsl(body.decode("utf-8", "replace")))
        )
        transaction = self._find(fields.get("transaction_id", ""), reference)
        if transaction is None:
            return _page(
                "Unknown payment",
                _card("bad", "Unknown payment", "No sandbox payment has this reference."),
                status=404,
            )
        return_url = self._return_url(transaction, fields.get("return_url", ""))
        if page == "return":
            return self._result(transaction, return_url, arrived=True)
        if method == "POST":
            return self._post(transaction, fields, return_url)
        if transaction.status in PAYABLE:
            return self._checkout(transaction, return_url)
        return self._result(transaction, return_url)  # revisited after paying

    def _find(self, transaction_id: str, reference: str) -> Transaction | None:
        try:
            transaction = self._transactions.get(transaction_id)
        except (TransactionNotFound, ValueError):
            return None
        if transaction.provider != "sandbox" or transaction.provider_reference != reference:
            return None
        return transaction

    def _return_url(self, transaction: Transaction, return_url: str) -> str | None:
        """Only a return_url the deposit could have had: never an open redirect."""
        if not return_url:
            return None
        try:
            return validate_return_url(return_url, self._brands.get(transaction.brand_id))
        except ReturnUrlInvalid:
            return None

    # ---------------------------------------------------------------- POST --
    def _post(
        self, transaction: Transaction, fields: dict[str, str], return_url: str | None
    ) -> Reply:
        if transaction.status not in PAYABLE:
            return self._result(transaction, return_url, status=409)
        action = fields.get("action", "")
        if action in ACTIONS:
            return self._send(transaction, ACTIONS[action], return_url)
        if action != "pay":
            return self._checkout(transaction, return_url, error="Unknown action.", status=400)
        card, error = _check_card(fields)
        if error:
            return self._checkout(transaction, return_url, error=error, values=fields, status=422)
        if card in CARD_OUTCOMES:
            return self._send(transaction, CARD_OUTCOMES[card], return_url)
        return self._challenge(transaction, return_url, card)

    def _send(self, transaction: Transaction, status: str, return_url: str | None) -> Reply:
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
            detail = f"The cashier answered the sandbox's webhook with HTTP {delivered}."
            return _page("Webhook refused", _card("bad", "Webhook refused", detail), status=502)
        return Reply(303, [("Location", self._after(transaction, return_url))], b"")

    def _after(self, transaction: Transaction, return_url: str | None) -> str:
        """The merchant's return_url when this machine can reach its host, else ours."""
        if return_url and self._resolves(urlsplit(return_url).hostname or ""):
            return return_url
        query = {"transaction_id": transaction.transaction_id}
        if return_url:
            query["return_url"] = return_url
        return f"{RETURN}{transaction.provider_reference}?{urlencode(query)}"

    # --------------------------------------------------------------- pages --
    def _summary(self, transaction: Transaction) -> str:
        brand = self._brands.get(transaction.brand_id)
        name = brand.display_name if brand else transaction.brand_id
        return (
            '<section class="summary">'
            f'<div class="brand"><span class="logo">{_e(name[:1].upper())}</span>'
            f'<span data-testid="brand">{_e(name)}</span></div>'
            f'<div class="muted">Deposit to trading account {_e(transaction.account_id)}</div>'
            f'<div class="amount" data-testid="amount">{_e(_display_amount(transaction))}'
            f" <span>{_e(transaction.currency)}</span></div>"
            f'<div class="muted small">Reference {_e(transaction.provider_reference or "")}</div>'
            "</section>"
        )

    def _checkout(
        self,
        transaction: Transaction,
        return_url: str | None,
        *,
        error: str = "",
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Reply:
        values = values or {}
        reference = transaction.provider_reference or ""
        amount = f"{_display_amount(transaction)} {transaction.currency}"
        cards = "".join(
            f'<tr><td class="mono">{_e(_grouped(number))}</td><td>{_e(what)}</td></tr>'
            for number, what in TEST_CARDS
        )
        alert = f'<div class="alert" role="alert">{_e(error)}</div>' if error else ""
        form = (
            f'<form method="post" action="{_e(PAY + reference)}" autocomplete="off">'
            f"{_hidden(transaction, return_url)}"
            '<label for="card_number">Card number</label>'
            '<input id="card_number" name="card_number" inputmode="numeric" '
            f'placeholder="1234 1234 1234 1234" value="{_e(values.get("card_number", ""))}">'
            '<div class="row"><div><label for="expiry">Expiry</label>'
            '<input id="expiry" name="expiry" placeholder="MM / YY" '
            f'value="{_e(values.get("expiry", ""))}"></div>'
            '<div><label for="cvc">CVC</label>'
            '<input id="cvc" name="cvc" inputmode="numeric" placeholder="123" '
            f'value="{_e(values.get("cvc", ""))}"></div></div>'
            '<label for="cardholder">Name on card</label>'
            '<input id="cardholder" name="cardholder" placeholder="Full name" '
            f'value="{_e(values.get("cardholder", ""))}">'
            f'<button class="primary" name="action" value="pay">Pay {_e(amount)}</button>'
            '<button class="link" name="action" value="cancel">Cancel and return</button>'
            "</form>"
        )
        body = (
            f"{self._summary(transaction)}"
            '<section class="panel"><h1>Pay with card</h1>'
            f"{alert}{form}"
            '<div class="cards"><h2>Test cards</h2><table>'
            f"{cards}</table><p class=small>Any future expiry date and any 3-digit CVC.</p>"
            "</div></section>"
        )
        return _page("Pay " + amount, body, status=status)

    def _challenge(self, transaction: Transaction, return_url: str | None, card: str) -> Reply:
        brand = self._brands.get(transaction.brand_id)
        name = brand.display_name if brand else transaction.brand_id
        amount = f"{_display_amount(transaction)} {transaction.currency}"
        body = (
            f"{self._summary(transaction)}"
            '<section class="panel challenge"><div class="bank">SANDBOX TEST BANK</div>'
            "<h1>3-D Secure authentication</h1>"
            f"<p>{_e(name)} asks you to confirm a payment of <b>{_e(amount)}</b> "
            f"with the card ending in <b>{_e(card[-4:])}</b>.</p>"
            "<p class=small>In test mode no code is sent: choose the outcome.</p>"
            f'<form method="post" action="{_e(PAY + (transaction.provider_reference or ""))}">'
            f"{_hidden(transaction, return_url)}"
            '<button class="primary" name="action" value="3ds_complete">'
            "Complete authentication</button>"
            '<button class="secondary" name="action" value="3ds_fail">'
            "Fail authentication</button></form></section>"
        )
        return _page("3-D Secure", body)

    def _result(
        self,
        transaction: Transaction,
        return_url: str | None,
        *,
        arrived: bool = False,
        status: int = 200,
    ) -> Reply:
        outcome = OUTCOMES[transaction.status]
        parts = [
            self._summary(transaction),
            '<section class="panel">',
            _card(outcome.tone, outcome.headline, outcome.detail, transaction.status),
            f'<p class="small">Transaction {_e(transaction.transaction_id)}</p>',
        ]
        if arrived and return_url:
            parts.append(
                f'<p class="small">The return page {_e(return_url)} cannot be reached from '
                "this machine (its host does not resolve), so the local stack shows the "
                "result here.</p>"
            )
        if return_url:
            parts.append(f'<a class="button" href="{_e(return_url)}">Return to the merchant</a>')
        parts.append("</section>")
        # While a webhook or the credit is still in flight, look again shortly.
        refresh = 1 if transaction.status in SETTLING and arrived else None
        title = "Payment result" if arrived else outcome.headline
        return _page(title, "".join(parts), status=status, refresh_seconds=refresh)


# -------------------------------------------------------------- helpers ---
def resolves_locally(host: str) -> bool:
    """Whether this machine can look the host up (bounded: a dead resolver must
    not hang the page)."""
    if not host:
        return False
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(socket.getaddrinfo, host, 443).result(timeout=RESOLVE_SECONDS)
    except (OSError, concurrent.futures.TimeoutError, UnicodeError):
        return False
    finally:
        pool.shutdown(wait=False)
    return True


def _check_card(fields: dict[str, str]) -> tuple[str, str]:
    """(card number, error message): the checks a card form makes before paying."""
    number = re.sub(r"[\s-]", "", fields.get("card_number", ""))
    error = (
        _number_error(number)
        or _expiry_error(fields.get("expiry", ""))
        or ("" if re.fullmatch(r"\d{3,4}", fields.get("cvc", "").strip()) else
            "Your card's security code is incomplete.")
    )  # fmt: skip
    return number, error


def _number_error(number: str) -> str:
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        return "Your card number is incomplete."
    if not _luhn_valid(number):
        return "Your card number is invalid."
    if number not in {card for card, _ in TEST_CARDS}:
        return "This is test mode: use one of the test cards below."
    return ""


def _expiry_error(text: str) -> str:
    expiry = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", text)
    if not expiry or not 1 <= int(expiry.group(1)) <= 12:
        return "Your card's expiry date is incomplete (MM / YY)."
    year = int(expiry.group(2))
    year += 2000 if year < 100 else 0
    now = datetime.now(UTC)
    if (year, int(expiry.group(1))) < (now.year, now.month):
        return "Your card's expiry date is in the past."
    return ""


def _luhn_valid(number: str) -> bool:
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(number)):
        doubled = digit * 2 if index % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _display_amount(transaction: Transaction) -> str:
    return f"{Decimal(format_amount(transaction.amount, transaction.currency)):,f}"


def _grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _hidden(transaction: Transaction, return_url: str | None) -> str:
    return "".join(
        f'<input type="hidden" name="{name}" value="{_e(value)}">'
        for name, value in (
            ("transaction_id", transaction.transaction_id),
            ("return_url", return_url or ""),
        )
    )


def _card(tone: str, headline: str, detail: str, status: Status | None = None) -> str:
    mark = {"ok": "&#10003;", "bad": "&#10005;"}.get(tone, "&#8230;")
    named = (
        f'<div class="status" data-testid="status">Status {int(status)} {_e(status.api_name)}</div>'
        if status is not None
        else ""
    )
    return (
        f'<div class="result {_e(tone)}"><div class="mark">{mark}</div>'
        f'<h1 data-testid="headline">{_e(headline)}</h1><p>{_e(detail)}</p>{named}</div>'
    )


_STYLE: Final = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:#1a1f36;background:#f6f8fb}
.testmode{background:repeating-linear-gradient(135deg,#ffb020 0 14px,#ffc14d 14px 28px);
color:#3d2600;font-weight:700;text-align:center;padding:.55em;letter-spacing:.06em}
.testmode span{font-weight:400;letter-spacing:0}
main{max-width:920px;margin:2.5em auto;display:flex;flex-wrap:wrap;gap:2em;padding:0 1em}
.summary{flex:1 1 280px;padding:1em 0}
.brand{font-weight:600;font-size:1.1em;display:flex;align-items:center;gap:.6em;margin-bottom:1.4em}
.logo{display:inline-grid;place-items:center;width:2em;height:2em;border-radius:50%;
background:#635bff;color:#fff}
.amount{font-size:2.4em;font-weight:700;margin:.2em 0}
.amount span{font-size:.5em;color:#697386;font-weight:600}
.muted{color:#697386}.small{font-size:.85em;color:#697386}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;white-space:nowrap}
.panel{flex:1 1 380px;background:#fff;border-radius:12px;padding:1.6em;
box-shadow:0 2px 5px rgba(50,50,93,.1),0 1px 2px rgba(0,0,0,.08)}
h1{font-size:1.25em;margin:0 0 .8em}h2{font-size:.95em;margin:1.6em 0 .4em}
label{display:block;font-size:.85em;color:#3c4257;margin:.8em 0 .3em}
input{width:100%;font:inherit;padding:.6em .7em;border:1px solid #cfd7df;border-radius:6px}
input:focus{outline:2px solid #635bff55;border-color:#635bff}
.row{display:flex;gap:.8em}.row>div{flex:1}
button,.button{display:block;width:100%;margin-top:1.1em;padding:.75em;border:0;border-radius:6px;
font:inherit;font-weight:600;cursor:pointer;text-align:center;text-decoration:none}
.primary,.button{background:#635bff;color:#fff}
.secondary{background:#fff;color:#c0123c;border:1px solid #c0123c}
.link{background:none;color:#635bff;margin-top:.4em}
.alert{background:#fff0f0;color:#c0123c;border:1px solid #f5c2c7;border-radius:6px;
padding:.6em .8em}
table{width:100%;border-collapse:collapse;font-size:.88em}
td{padding:.35em .3em;border-top:1px solid #eef0f3}
.bank{font-weight:700;color:#0a2540;letter-spacing:.08em;font-size:.8em;margin-bottom:1em}
.result{border-radius:10px;padding:1.2em;text-align:center}
.result .mark{font-size:2em;width:1.8em;height:1.8em;line-height:1.8em;margin:0 auto .4em;
border-radius:50%;color:#fff}
.ok{background:#effaf3}.ok .mark{background:#1a9c53}
.bad{background:#fff3f3}.bad .mark{background:#c0123c}
.wait{background:#f3f6ff}.wait .mark{background:#635bff}
.status{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em;color:#3c4257}
"""


def _page(title: str, body: str, status: int = 200, refresh_seconds: int | None = None) -> Reply:
    refresh = (
        f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    )
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{_e(title)} · Sandbox</title><style>{_STYLE}</style></head><body>"
        '<div class="testmode" data-testid="test-mode">TEST MODE '
        "<span>· sandbox payment page: no real card is charged, no real money moves</span></div>"
        f"<main>{body}</main></body></html>"
    )
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        # No script, no external asset: the page says so to the browser too.
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
            "frame-ancestors 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return Reply(status, headers, document.encode())
