"""The BackOffice withdrawal view over real HTTP: after a card deposit is
credited through the hosted page, a withdrawal's view suggests refunding it
first, approving records the chosen route, and the provider's report of
that card refund moves no money again."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import pytest

from cashier_providers import signing
from tests.e2e.conftest import LocalStack
from tests.e2e.test_backoffice import AS_OPERATOR
from tests.e2e.test_walkthroughs import balance, deposit, press, status_of

pytestmark = pytest.mark.e2e


def _card_deposit_and_held_withdrawal(
    stack: LocalStack, deposited: str, withdrawn: str
) -> tuple[str, str]:
    """A card deposit paid on the hosted page and credited, then a withdrawal held."""
    created = deposit(stack, amount=deposited)
    press(stack, created, "pay")
    card = str(created["transaction"]["transaction_id"])
    status_of(stack, card, 3)
    held = stack.http.post(
        "/cashier/withdrawal",
        token=stack.token("alice"),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body={"account_id": "acc-alice-usd", "amount": withdrawn, "currency": "USD",
              "payout_details": {"iban": "DE89370400440532013000"}},
    )  # fmt: skip
    assert held.status == 201, held.body
    return card, str(held.json()["transaction"]["transaction_id"])


def test_the_view_suggests_the_card_first_and_approval_records_the_route(
    stack: LocalStack,
) -> None:
    card, withdrawal = _card_deposit_and_held_withdrawal(stack, "15.00", "4.00")

    view = stack.http.get(f"/backoffice/withdrawals/{withdrawal}", headers=AS_OPERATOR)
    assert view.status == 200, view.body
    body = view.json()
    assert body["transaction"]["payout_details"] == {"iban": "DE89370400440532013000"}
    suggestion = body["suggestion"]
    # The newest card deposit is this one, with more than 4.00 left to return.
    assert suggestion["refunds"][0]["deposit_id"] == card
    assert sum(Decimal(v) for v in suggestion["route"].values()) == Decimal("4.00")
    assert suggestion["route"] == {card: "4.00"}

    approved = stack.http.post(
        f"/backoffice/withdrawals/{withdrawal}/approve",
        headers=AS_OPERATOR,
        body={"payout_reference": "PO-RTS-E2E", "route": suggestion["route"]},
    )
    assert approved.status == 200, approved.body
    assert approved.json()["transaction"]["payout_route"] == {card: "4.00"}
    # Customers never see the payout details or the route.
    history = stack.http.get(
        "/cashier/transactions", token=stack.token("alice"), query={"limit": "100"}
    ).json()
    [mine] = [t for t in history["transactions"] if t["transaction_id"] == withdrawal]
    assert "payout_details" not in mine and "payout_route" not in mine


def test_the_providers_report_of_the_card_refund_that_paid_a_withdrawal_debits_nothing(
    stack: LocalStack,
) -> None:
    card, withdrawal = _card_deposit_and_held_withdrawal(stack, "12.00", "12.00")
    approved = stack.http.post(
        f"/backoffice/withdrawals/{withdrawal}/approve",
        headers=AS_OPERATOR,
        body={"payout_reference": "PO-RTS-REFUND", "route": {card: "12.00"}},
    )
    assert approved.status == 200, approved.body
    after_payout = balance(stack)

    secret = stack.resources["provider_secrets"]["cashier/webhooks/brand-alpha/sandbox"][
        "webhook_secrets"
    ][0]
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": card,
                       "status": "refunded", "amount": "12.00", "currency": "USD"}).encode()  # fmt: skip
    for _ in range(2):  # the provider retries: the same event twice
        answer = stack.http.post("/cashier/webhook/sandbox", body=body,
                                 headers={"X-Sandbox-Signature": signing.sign(body, secret, int(time.time()))})  # fmt: skip
        assert answer.status == 200, answer.body
    status_of(stack, card, 7)
    assert balance(stack) == after_payout
    failed = stack.http.post(
        f"/backoffice/withdrawals/{withdrawal}/payout-failed",
        headers=AS_OPERATOR,
        body={"reason": "bounced"},
    )
    assert (failed.status, failed.json()["error"]["code"]) == (409, "payout_returned_to_source")
    report = stack.http.post("/backoffice/accounts/acc-alice-usd/reconcile", headers=AS_OPERATOR)
    assert report.json()["difference"] == "0.00"
