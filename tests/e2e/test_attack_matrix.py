"""The attack matrix of docs/security.md, over real HTTP against the local stack.

Every case must get a 4xx with its stable code, write nothing to any table,
and print no secret (session tokens, webhook secrets, API keys, the cursor
key) in the stack's logs. Each case's id is a row of docs/security.md."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cashier_local.stack import DEV_PRINCIPAL_EXAMPLE
from cashier_local.template import REPO_ROOT
from cashier_providers import signing
from tests.e2e.conftest import LocalStack
from tests.e2e.test_races import queue_settled
from tests.support import providers
from tests.support.http import Answer

pytestmark = pytest.mark.e2e
ALICE = "demo-alice-local-session-0001"
MALLORY = "demo-mallory-local-session-0006"
SECURITY_DOC = REPO_ROOT / "docs" / "security.md"


@dataclass(frozen=True)
class Attack:
    case: str
    method: str
    path: str
    expected: tuple[int, str]
    token: str | None = ALICE
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def deposit(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"account_id": "acc-alice-usd", "method_id": "card-sandbox",
                            "amount": "25.00", "currency": "USD"}  # fmt: skip
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def withdrawal(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"account_id": "acc-alice-usd", "amount": "5.00", "currency": "USD"}
    body.update(changes)
    return body


def post(path: str, body: Any, expected: tuple[int, str], case: str, **kw: Any) -> Attack:
    headers = {"Idempotency-Key": f"attack-{uuid.uuid4().hex}", **kw.pop("headers", {})}
    return Attack(case, "POST", path, expected, body=body, headers=headers, **kw)


UNAUTHORIZED = (401, "unauthorized")
NOT_FOUND = (404, "account_not_found")
UNKNOWN = (422, "unknown_field")
HOST_REFUSED = (403, "host_not_allowed")
REBOUND = "rebind.attacker.example"
CUSTOMER_ATTACKS = [
    # --- authentication -------------------------------------------------------------
    Attack("auth: no token", "GET", "/cashier/methods", UNAUTHORIZED, token=None, query={"account_id": "acc-alice-usd"}),
    Attack("auth: unknown token", "GET", "/cashier/methods", UNAUTHORIZED, token="x" * 40, query={"account_id": "acc-alice-usd"}),
    Attack("auth: expired token", "GET", "/cashier/methods", UNAUTHORIZED, token="demo-alice-expired-session-0007", query={"account_id": "acc-alice-usd"}),
    Attack("auth: another session type", "GET", "/cashier/methods", UNAUTHORIZED, token="demo-alice-admin-session-0008", query={"account_id": "acc-alice-usd"}),
    Attack("auth: customer token on BackOffice", "GET", "/backoffice/withdrawals", (403, "forbidden")),
    # --- other customers' ids (each answers exactly as a missing one; a test below compares) ---
    Attack("foreign id: methods", "GET", "/cashier/methods", NOT_FOUND, token=MALLORY, query={"account_id": "acc-alice-usd"}),
    Attack("foreign id: withdrawal methods", "GET", "/cashier/methods", NOT_FOUND, token=MALLORY,
           query={"account_id": "acc-alice-usd", "direction": "withdrawal"}),
    post("/cashier/deposit", deposit(), NOT_FOUND, "foreign id: deposit", token=MALLORY),
    post("/cashier/withdrawal", withdrawal(), NOT_FOUND, "foreign id: withdrawal", token=MALLORY),
    Attack("foreign id: history", "GET", "/cashier/transactions", NOT_FOUND, token=MALLORY, query={"account_id": "acc-alice-usd"}),
    # --- cancelling a withdrawal (a foreign one is tested below, beside a held one) ---
    post("/cashier/withdrawal/wd-unknown/cancel", None, UNAUTHORIZED, "cancel: no token", token=None),
    post("/cashier/withdrawal/wd-unknown/cancel", None, (404, "transaction_not_found"), "cancel: unknown id"),
    post(f"/cashier/withdrawal/{'w' * 200}/cancel", None, (422, "validation_error"), "cancel: oversized id"),
    post("/cashier/withdrawal/wd-unknown/cancel", {"status": 6}, UNKNOWN, "mass assignment: cancel status"),
    # --- mass assignment -------------------------------------------------------------
    post("/cashier/deposit", deposit(status=3), UNKNOWN, "mass assignment: status"),
    post("/cashier/deposit", deposit(customer_id="cus-mallory"), UNKNOWN, "mass assignment: customer_id"),
    post("/cashier/deposit", deposit(provider_reference="sbx_x"), UNKNOWN, "mass assignment: provider_reference"),
    post("/cashier/withdrawal", withdrawal(status=6), UNKNOWN, "mass assignment: withdrawal status"),
    Attack("mass assignment: customer_id in query", "GET", "/cashier/transactions", UNKNOWN, query={"customer_id": "cus-mallory"}),
    # --- amounts ---------------------------------------------------------------------
    post("/cashier/deposit", deposit(amount="-25.00"), (422, "amount_negative"), "amount: negative"),
    post("/cashier/deposit", deposit(amount="0.00"), (422, "amount_zero"), "amount: zero"),
    post("/cashier/deposit", deposit(amount="-0"), (422, "amount_zero"), "amount: -0"),
    post("/cashier/deposit", deposit(amount="NaN"), (422, "amount_not_finite"), "amount: NaN"),
    post("/cashier/deposit", deposit(amount="1e3"), (422, "amount_exponent_not_allowed"), "amount: 1e3"),
    post("/cashier/deposit", deposit(amount="25.001"), (422, "amount_too_precise"), "amount: too many decimals"),
    post("/cashier/deposit", deposit(amount="1" + "0" * 30), (422, "amount_too_large"), "amount: 10^30"),
    post("/cashier/deposit", deposit(amount=25.5), (422, "amount_not_a_string"), "amount: JSON float"),
    post("/cashier/withdrawal", withdrawal(amount="-5.00"), (422, "amount_negative"), "amount: negative withdrawal"),
    # --- oversized input -------------------------------------------------------------
    post("/cashier/deposit", {"pad": "x" * 20_000}, (413, "body_too_large"), "oversized: body"),
    post("/cashier/deposit", deposit(account_id="a" * 5_000), (422, "validation_error"), "oversized: string"),
    Attack("oversized: page size", "GET", "/cashier/transactions", (422, "validation_error"), query={"limit": "100000"}),
    Attack("oversized: cursor", "GET", "/cashier/transactions", (422, "validation_error"), query={"cursor": "c" * 5_000}),
    # --- return_url ------------------------------------------------------------------
    *[
        post("/cashier/deposit", deposit(return_url=url), (422, "return_url_invalid"), f"return_url: {name}")
        for name, url in [
            ("javascript:", "javascript:alert(1)"),
            ("data:", "data:text/html,<script>alert(1)</script>"),
            ("//evil", "//evil.example/return"),
            ("userinfo", "https://alpha.example@evil.example/return"),
            ("IP literal", "https://127.0.0.1/return"),
            ("other host", "https://evil.example/return"),
            ("plain http", "http://alpha.example/return"),
        ]
    ],
    # --- DNS rebinding: a page in the developer's browser, on its own name, reaching loopback ---
    post("/cashier/deposit", deposit(), HOST_REFUSED, "DNS rebinding: a deposit", headers={"Host": REBOUND}),
    Attack("DNS rebinding: local resources", "GET", "/_local/resources", HOST_REFUSED, token=None, headers={"Host": REBOUND}),
    post("/backoffice/accounts/acc-alice-usd/reconcile", None, HOST_REFUSED, "DNS rebinding: BackOffice dev header", token=None,
         headers={"Host": REBOUND, "X-Cashier-Dev-Principal": DEV_PRINCIPAL_EXAMPLE}),
]  # fmt: skip


@dataclass
class Evidence:
    before: dict[str, list[str]]
    log_start: int


def snapshot(stack: LocalStack) -> dict[str, list[str]]:
    dynamodb = stack.aws("dynamodb")
    tables: dict[str, list[str]] = {}
    for logical_id, name in sorted(stack.resources["tables"].items()):
        items = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items.extend(json.dumps(item, sort_keys=True) for item in page["Items"])
        tables[logical_id] = sorted(items)
    return tables


def secrets_of(stack: LocalStack) -> list[str]:
    values = [session["token"] for session in stack.resources["sessions"]]
    for document in stack.resources["provider_secrets"].values():
        values += [str(v) for v in document.get("webhook_secrets", [])]
        values += [str(document["api_key"])] if document.get("api_key") else []
    manager = stack.aws("secretsmanager")
    cursor_secret = next(s for s in stack.resources["secrets"] if "Cursor" in s or "cursor" in s)
    values.append(manager.get_secret_value(SecretId=cursor_secret)["SecretString"])
    return [v for v in values if len(v) >= 8]


@pytest.fixture
def evidence(stack: LocalStack) -> Iterator[Callable[[], None]]:
    """Yields the check: nothing written, no secret logged, since the fixture began."""
    queue_settled(stack)
    taken = Evidence(snapshot(stack), len(stack.output))

    def check() -> None:
        time.sleep(0.1)  # the stack's log lines reach the pump
        assert snapshot(stack) == taken.before, "the attack wrote to a table"
        logged = "".join(stack.output[taken.log_start :])
        leaked = [secret[:6] + "..." for secret in secrets_of(stack) if secret in logged]
        assert leaked == [], "a secret reached the logs"

    yield check


def send(stack: LocalStack, attack: Attack) -> Answer:
    return stack.http.request(
        attack.method, attack.path, token=attack.token, body=attack.body,
        headers=attack.headers, query=attack.query or None,
    )  # fmt: skip


@pytest.mark.parametrize("attack", CUSTOMER_ATTACKS, ids=lambda a: a.case)
def test_customer_api_attacks_are_refused_with_their_code_and_change_nothing(
    stack: LocalStack, attack: Attack, evidence: Callable[[], None]
) -> None:
    answer = send(stack, attack)
    assert (answer.status, answer.code) == attack.expected, answer.body
    evidence()


@pytest.mark.parametrize(
    "attack",
    [a for a in CUSTOMER_ATTACKS if a.case.startswith("foreign id")],
    ids=lambda a: a.case,
)
def test_another_customers_account_answers_exactly_like_a_missing_one(
    stack: LocalStack, attack: Attack
) -> None:
    def with_account(account: str) -> Attack:
        if attack.method == "GET":
            return Attack(attack.case, "GET", attack.path, attack.expected, token=MALLORY,
                          query={**attack.query, "account_id": account})  # fmt: skip
        return post(
            attack.path,
            {**attack.body, "account_id": account},
            attack.expected,
            attack.case,
            token=MALLORY,
        )

    foreign, missing = send(stack, attack), send(stack, with_account("acc-no-such-account"))
    assert (foreign.status, foreign.body) == (missing.status, missing.body)


@pytest.fixture(scope="module")
def held(stack: LocalStack) -> dict[str, Any]:
    """One of Alice's withdrawals, waiting for BackOffice."""
    answer = stack.http.post("/cashier/withdrawal", token=ALICE, headers={"Idempotency-Key": f"attack-{uuid.uuid4().hex}"},
                             body=withdrawal(amount="1.00"))  # fmt: skip
    assert answer.status == 201, answer.body
    return dict(answer.json()["transaction"])


def test_another_customers_withdrawal_cannot_be_cancelled_and_answers_like_a_missing_one(
    stack: LocalStack, held: dict[str, Any], evidence: Callable[[], None]
) -> None:
    """foreign id: cancel withdrawal"""
    foreign = stack.http.post(f"/cashier/withdrawal/{held['transaction_id']}/cancel", token=MALLORY)
    missing = stack.http.post("/cashier/withdrawal/wd-no-such-withdrawal/cancel", token=MALLORY)
    assert (foreign.status, foreign.code) == (404, "transaction_not_found")
    assert (foreign.status, foreign.body) == (missing.status, missing.body)
    evidence()


# --- webhooks ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pending(stack: LocalStack) -> dict[str, Any]:
    answer = stack.http.post("/cashier/deposit", token=ALICE, headers={"Idempotency-Key": f"attack-{uuid.uuid4().hex}"},
                             body=deposit(account_id="acc-alice-eur", currency="EUR", amount="20.00"))  # fmt: skip
    assert answer.status == 201, answer.body
    return dict(answer.json()["transaction"])


def sandbox_secret(stack: LocalStack) -> str:
    return str(
        stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/sandbox"][
            "webhook_secrets"
        ][0]
    )


def success_body(transaction: dict[str, Any], amount: str | None = None) -> bytes:
    return json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": transaction["transaction_id"],
                       "status": "succeeded", "amount": amount or transaction["amount"],
                       "currency": transaction["currency"]}).encode()  # fmt: skip


def forged_webhooks(
    stack: LocalStack, transaction: dict[str, Any]
) -> dict[str, tuple[str, bytes, dict[str, str]]]:
    secret, now = sandbox_secret(stack), int(time.time())
    body = success_body(transaction)
    other = success_body(transaction)
    adyen_key = str(
        stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/adyen"][
            "webhook_secrets"
        ][0]
    )

    def adyen_item(psp: str, key: str) -> dict[str, Any]:
        item = providers.adyen_item(
            code="AUTHORISATION", merchant_reference=transaction["transaction_id"],
            psp_reference=psp, amount=(2000, "EUR"),
        )  # fmt: skip
        return providers.adyen_signed(item, key)

    adyen_batch = providers.adyen_notification(
        adyen_item("8815000000000001", adyen_key), adyen_item("8815000000000002", "00" * 32)
    )
    tampered = bytearray(body)
    tampered[body.index(b'"succeeded"') + 1] ^= 0x01
    return {
        "webhook: forged signature": ("sandbox", body, {"X-Sandbox-Signature": f"t={now},v1={'0' * 64}"}),
        "webhook: wrong secret": ("sandbox", body, {"X-Sandbox-Signature": signing.sign(body, "not-the-secret", now)}),
        "webhook: older than 300 s": ("sandbox", body, {"X-Sandbox-Signature": signing.sign(body, secret, now - 301)}),
        "webhook: in the future": ("sandbox", body, {"X-Sandbox-Signature": signing.sign(body, secret, now + 360)}),
        "webhook: replayed signature on another body": ("sandbox", other, {"X-Sandbox-Signature": signing.sign(body, secret, now)}),
        "webhook: v0-only header": ("sandbox", body, {"X-Sandbox-Signature": signing.sign(body, secret, now).replace("v1=", "v0=")}),
        "webhook: no signature": ("sandbox", body, {}),
        "webhook: one byte changed": ("sandbox", bytes(tampered), {"X-Sandbox-Signature": signing.sign(body, secret, now)}),
        "webhook: Adyen batch with one bad item": ("adyen", adyen_batch, {}),
    }  # fmt: skip


WEBHOOK_CASES = [
    "webhook: forged signature", "webhook: wrong secret", "webhook: older than 300 s",
    "webhook: in the future", "webhook: replayed signature on another body",
    "webhook: v0-only header", "webhook: no signature", "webhook: one byte changed",
    "webhook: Adyen batch with one bad item",
]  # fmt: skip


@pytest.mark.parametrize("case", WEBHOOK_CASES)
def test_forged_webhooks_are_401_and_change_nothing(
    stack: LocalStack, pending: dict[str, Any], case: str, evidence: Callable[[], None]
) -> None:
    provider, body, headers = forged_webhooks(stack, pending)[case]
    answer = stack.http.post(f"/cashier/webhook/{provider}", body=body, headers=headers)
    assert (answer.status, answer.code) == (401, "webhook_signature_invalid"), answer.body
    evidence()


def test_a_replayed_delivery_is_acknowledged_and_changes_nothing(
    stack: LocalStack, pending: dict[str, Any]
) -> None:
    body = success_body(pending, amount="19.00")  # a mismatch: lands in review, never credited
    headers = {"X-Sandbox-Signature": signing.sign(body, sandbox_secret(stack), int(time.time()))}
    first = stack.http.post("/cashier/webhook/sandbox", body=body, headers=headers)
    assert first.status == 200
    queue_settled(stack)
    before = snapshot(stack)
    replay = stack.http.post("/cashier/webhook/sandbox", body=body, headers=headers)
    assert replay.status == 200  # a provider's retry and a replay look the same: de-duplicated
    assert snapshot(stack) == before


def test_an_amount_mismatch_is_never_credited(stack: LocalStack) -> None:
    answer = stack.http.post("/cashier/deposit", token=ALICE, headers={"Idempotency-Key": f"attack-{uuid.uuid4().hex}"},
                             body=deposit(account_id="acc-alice-eur", currency="EUR", amount="21.00"))  # fmt: skip
    transaction = answer.json()["transaction"]
    body = success_body(transaction, amount="2100.00")
    headers = {"X-Sandbox-Signature": signing.sign(body, sandbox_secret(stack), int(time.time()))}
    assert stack.http.post("/cashier/webhook/sandbox", body=body, headers=headers).status == 200
    queue_settled(stack)
    history = stack.http.get(
        "/cashier/transactions", token=ALICE, query={"account_id": "acc-alice-eur"}
    ).json()
    [mine] = [
        t for t in history["transactions"] if t["transaction_id"] == transaction["transaction_id"]
    ]
    assert mine["status_name"] == "manual_review"
    # The customer sees the code; the mismatch's detail is BackOffice's.
    assert mine["history"][-1]["reason"] == "under_review"
    assert "2100" not in json.dumps(mine["history"])


def test_every_case_is_a_row_of_the_security_doc() -> None:
    documented = SECURITY_DOC.read_text()
    missing = [
        c
        for c in [a.case for a in CUSTOMER_ATTACKS]
        + WEBHOOK_CASES
        + ["foreign id: cancel withdrawal"]
        if f"| {c} |" not in documented
    ]
    assert missing == []
