"""Stripe and Adyen as they really behave, over real HTTP against the local
stack, with their APIs stood in by fakes on loopback that answer with the
providers' published objects (tests/support/provider_fakes.py), and their
webhooks built from the published objects and signed with their own libraries.

This module starts its own stack, seeded so the Stripe and Adyen methods call
the fakes; after each test every balance equals the sum of its ledger."""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cashier_local.seed import DEFAULT_SEED
from tests.e2e.conftest import LocalStack, free_port, launch_stack
from tests.e2e.test_backoffice import AS_OPERATOR, wait_for
from tests.e2e.test_walkthroughs import balances
from tests.support import providers
from tests.support.http import Http
from tests.support.provider_fakes import FakeProviders

pytestmark = pytest.mark.e2e
ALICE = "alice"
USD, EUR, ISK = "acc-alice-usd", "acc-alice-eur", "acc-e2e-alice-isk"


@pytest.fixture(scope="module")
def fakes() -> Iterator[FakeProviders]:
    started = FakeProviders().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def stack(fakes: FakeProviders) -> Iterator[LocalStack]:
    """The local stack with the default seed, its Stripe and Adyen methods
    pointed at the fakes."""
    seed = json.loads(DEFAULT_SEED.read_text())
    for config in seed["provider_configs"]:
        if config["provider"] in ("stripe", "adyen"):
            config["settings"]["api_base"] = fakes.base_url
        if config["method_id"] == "card-stripe":
            config["currencies"].append("ISK")  # a currency Stripe takes in hundredths
    seed["accounts"].append(
        {
            "account_id": ISK,
            "customer_id": "cus-alice",
            "brand_id": "brand-alpha",
            "currency": "ISK",
        }
    )
    seed_file = Path(tempfile.mkdtemp(prefix="cashier-e2e-seed-")) / "seed.json"
    seed_file.write_text(json.dumps(seed))
    started = launch_stack({**os.environ, "CASHIER_SEED": str(seed_file)}, free_port())
    http = Http(started.base_url)
    try:
        assert started.state_dir is not None
        resources = http.get("/_local/resources").json()
        yield LocalStack(http, resources, started.output, started.state_dir)
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def _balances_equal_ledgers(stack: LocalStack) -> Iterator[None]:
    yield
    mismatched = {k: v for k, v in balances(stack).items() if v[0] != v[1]}
    assert mismatched == {}


def balance(stack: LocalStack, account: str) -> Decimal:
    return balances(stack)[account][0]


def reversal_entries(stack: LocalStack, transaction_id: str) -> list[Decimal]:
    items = stack.aws("dynamodb").scan(
        TableName=stack.resources["tables"]["AccountsTable"], ConsistentRead=True
    )["Items"]
    return sorted(
        Decimal(item["amount"]["N"])
        for item in items
        if item.get("transaction_id", {}).get("S") == transaction_id
        and item.get("kind", {}).get("S") == "reversal"
    )


def deposit(stack: LocalStack, account: str, method: str, amount: str, currency: str) -> str:
    answer = stack.http.post(
        "/cashier/deposit",
        token=stack.token(ALICE),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body={"account_id": account, "method_id": method, "amount": amount,
              "currency": currency, "return_url": "https://alpha.example/back"},
    )  # fmt: skip
    assert answer.status == 201, answer.body
    return str(answer.json()["transaction"]["transaction_id"])


def history(stack: LocalStack, transaction_id: str) -> dict[str, Any]:
    answer = stack.http.get(
        "/cashier/transactions", token=stack.token(ALICE), query={"limit": "100"}
    )
    return next(t for t in answer.json()["transactions"] if t["transaction_id"] == transaction_id)


# --- Stripe -------------------------------------------------------------------------------
def stripe_post(stack: LocalStack, kind: str, obj: dict[str, Any]) -> int:
    body = providers.stripe_event(kind, obj, event_id=f"evt_{uuid.uuid4().hex[:24]}")
    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/stripe"][
        "webhook_secrets"
    ][0]
    answer = stack.http.post(
        "/cashier/webhook/stripe",
        body=body,
        headers={"Stripe-Signature": providers.stripe_signature(body, secret),
                 "Content-Type": "application/json"},
    )  # fmt: skip
    return answer.status


def stripe_paid(stack: LocalStack, fakes: FakeProviders, amount: str = "100.00") -> tuple[str, str]:
    """A Stripe deposit made over HTTP, paid at the fake, and credited: (id, PaymentIntent)."""
    transaction_id = deposit(stack, USD, "card-stripe", amount, "USD")
    [session] = [s for s in fakes.sessions.values() if s["client_reference_id"] == transaction_id]
    intent = f"pi_{uuid.uuid4().hex[:24]}"
    paid = {**session, "status": "complete", "payment_status": "paid", "payment_intent": intent}
    assert stripe_post(stack, "checkout.session.completed", paid) == 200
    wait_for(stack, transaction_id, "credited")
    return transaction_id, intent


def charge(intent: str, refunded_total: int) -> dict[str, Any]:
    return providers.stripe_object(
        "charge", id=f"ch_{intent[3:]}", payment_intent=intent, amount=10000,
        amount_captured=10000, amount_refunded=refunded_total,
        refunded=refunded_total == 10000, currency="usd", metadata={},
    )  # fmt: skip


def test_a_stripe_deposit_refunded_30_then_the_rest_ends_at_zero_with_two_reversals(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    start = balance(stack, USD)
    transaction_id, intent = stripe_paid(stack, fakes)
    assert balance(stack, USD) == start + 100
    assert stripe_post(stack, "charge.refunded", charge(intent, 3000)) == 200
    assert balance(stack, USD) == start + 70
    shown = history(stack, transaction_id)
    assert shown["status_name"] == "credited"
    assert [(c["reason"], c["amount"]) for c in shown["history"] if c["amount"]] == [
        ("credited", "100.00"),
        ("partially_refunded", "30.00"),
    ]
    assert stripe_post(stack, "charge.refunded", charge(intent, 10000)) == 200
    assert history(stack, transaction_id)["status_name"] == "refunded"
    assert balance(stack, USD) == start
    assert reversal_entries(stack, transaction_id) == [Decimal("-70.00"), Decimal("-30.00")]


def test_a_stripe_inquiry_leaves_the_balance_and_a_chargeback_takes_it(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    start = balance(stack, USD)
    transaction_id, intent = stripe_paid(stack, fakes)
    inquiry = providers.stripe_object("dispute", payment_intent=intent)  # Stripe's own example
    assert inquiry["status"] == "warning_needs_response"
    assert stripe_post(stack, "charge.dispute.created", inquiry) == 200
    assert balance(stack, USD) == start + 100
    dispute = providers.stripe_object(
        "dispute", id=f"dp_{uuid.uuid4().hex[:20]}", payment_intent=intent, amount=10000,
        currency="usd", status="needs_response",
    )  # fmt: skip
    assert stripe_post(stack, "charge.dispute.created", dispute) == 200
    assert stripe_post(stack, "charge.dispute.funds_withdrawn", dispute) == 200
    assert balance(stack, USD) == start
    assert history(stack, transaction_id)["status_name"] == "chargeback"
    assert reversal_entries(stack, transaction_id) == [Decimal("-100.00")]


# --- Adyen --------------------------------------------------------------------------------
def adyen_post(stack: LocalStack, **fields: Any) -> int:
    key = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/adyen"][
        "webhook_secrets"
    ][0]
    item = providers.adyen_signed(providers.adyen_item(**fields), key)
    answer = stack.http.post(
        "/cashier/webhook/adyen",
        body=providers.adyen_notification(item),
        headers={"Content-Type": "application/json"},
    )
    return answer.status


def test_an_adyen_refund_named_only_by_original_reference_reverses_only_its_amount(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    start = balance(stack, EUR)
    transaction_id = deposit(stack, EUR, "card-adyen", "100.00", "EUR")
    [link] = [r for r in fakes.created("/paymentLinks") if r.json()["reference"] == transaction_id]
    assert link.json()["amount"] == {"value": 10000, "currency": "EUR"}
    psp = f"PSP{uuid.uuid4().hex[:13].upper()}"
    assert adyen_post(
        stack, code="AUTHORISATION", merchant_reference=transaction_id, psp_reference=psp,
        amount=(10000, "EUR"),
    ) == 200  # fmt: skip
    wait_for(stack, transaction_id, "credited")
    # A refund made in Adyen's Customer Area: its own reference, ours nowhere.
    assert adyen_post(
        stack, code="REFUND", merchant_reference="customer-area-refund-1",
        psp_reference=f"RF{uuid.uuid4().hex[:14].upper()}", original_reference=psp,
        amount=(2500, "EUR"),
    ) == 200  # fmt: skip
    assert balance(stack, EUR) == start + 75
    assert history(stack, transaction_id)["status_name"] == "credited"
    assert reversal_entries(stack, transaction_id) == [Decimal("-25.00")]


def test_an_adyen_confirmation_without_an_amount_never_credits(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    start = balance(stack, EUR)
    transaction_id = deposit(stack, EUR, "card-adyen", "40.00", "EUR")
    assert adyen_post(
        stack, code="AUTHORISATION", merchant_reference=transaction_id,
        psp_reference=f"PSP{uuid.uuid4().hex[:13].upper()}", amount=None,
    ) == 200  # fmt: skip
    wait_for(stack, transaction_id, "manual_review")
    time.sleep(1)  # the worker would have run by now
    assert balance(stack, EUR) == start
    waiting = stack.http.get("/backoffice/deposits", headers=AS_OPERATOR, query={"status": "9"})
    assert transaction_id in json.dumps(waiting.json())


# --- currencies and scope ------------------------------------------------------------
def test_a_5000_isk_stripe_deposit_sends_unit_amount_500000(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    """Stripe takes ISK as a two-decimal amount ("to charge 5 ISK, send 500")."""
    transaction_id = deposit(stack, ISK, "card-stripe", "5000", "ISK")
    [created] = [
        r for r in fakes.created("/v1/checkout/sessions")
        if r.form()["client_reference_id"] == transaction_id
    ]  # fmt: skip
    form = created.form()
    assert form["line_items[0][price_data][currency]"] == "isk"
    assert form["line_items[0][price_data][unit_amount]"] == "500000"
    # Stripe's webhook reports it the same way; it is read back as 5,000 ISK.
    [session] = [s for s in fakes.sessions.values() if s["client_reference_id"] == transaction_id]
    assert session["amount_total"] == 500000
    paid = {**session, "status": "complete", "payment_status": "paid", "payment_intent": "pi_isk1"}
    assert stripe_post(stack, "checkout.session.completed", paid) == 200
    wait_for(stack, transaction_id, "credited")
    assert balance(stack, ISK) == Decimal("5000")


def test_a_live_mode_stripe_event_never_moves_a_test_mode_deposit(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    start = balance(stack, USD)
    transaction_id = deposit(stack, USD, "card-stripe", "25.00", "USD")
    [session] = [s for s in fakes.sessions.values() if s["client_reference_id"] == transaction_id]
    paid = {**session, "status": "complete", "payment_status": "paid", "payment_intent": "pi_live1"}
    body = json.loads(providers.stripe_event("checkout.session.completed", paid))
    body["livemode"] = True
    raw = json.dumps(body).encode()
    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/stripe"][
        "webhook_secrets"
    ][0]
    answer = stack.http.post(
        "/cashier/webhook/stripe",
        body=raw,
        headers={"Stripe-Signature": providers.stripe_signature(raw, secret),
                 "Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status == 200
    time.sleep(1)
    assert history(stack, transaction_id)["status_name"] == "pending_payment"
    assert balance(stack, USD) == start


def test_another_merchant_accounts_adyen_item_is_never_applied(
    stack: LocalStack, fakes: FakeProviders
) -> None:
    start = balance(stack, EUR)
    transaction_id = deposit(stack, EUR, "card-adyen", "40.00", "EUR")
    key = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/adyen"][
        "webhook_secrets"
    ][0]
    item = providers.adyen_item(
        code="AUTHORISATION", merchant_reference=transaction_id,
        psp_reference=f"PSP{uuid.uuid4().hex[:13].upper()}", amount=(4000, "EUR"),
    )  # fmt: skip
    item["merchantAccountCode"] = "SomeoneElsesECOM"
    answer = stack.http.post(
        "/cashier/webhook/adyen",
        body=providers.adyen_notification(providers.adyen_signed(item, key)),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200
    time.sleep(1)
    assert history(stack, transaction_id)["status_name"] == "pending_payment"
    assert balance(stack, EUR) == start
