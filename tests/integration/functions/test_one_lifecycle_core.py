"""The holes issue 11 closed, each pinned through the real handlers against moto.
The conftest checks balance == sum(ledger) after every test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cashier_core import crediting
from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import CreditQueue
from cashier_core.models import Transaction
from cashier_core.statuses import Status
from cashier_core.storage.transactions import TransactionStore
from tests.integration.functions.test_provider_webhooks import (
    adyen_batch,
    adyen_item,
    paid_session,
    pending,
    stripe_event,
    stripe_post,
)
from tests.support import providers
from tests.support.backoffice import BackOffice
from tests.support.lifecycle import Lifecycle

USD = "acc-alice-usd"
AML_NOTE = "AML: structuring suspected"


@pytest.fixture
def backoffice(lifecycle: Lifecycle) -> BackOffice:
    return BackOffice(lifecycle.api)


def balance(lifecycle: Lifecycle) -> Decimal:
    return lifecycle.api.aws.accounts().get(USD).balance


def withdrawal(lifecycle: Lifecycle, amount: str = "30.00", **body: str) -> str:
    status, reply = lifecycle.api.withdraw(
        "cus-alice", {"account_id": USD, "amount": amount, "currency": "USD", **body}
    )
    assert status == 201, reply
    return str(reply["transaction"]["transaction_id"])


def cashier(lifecycle: Lifecycle, later: timedelta = timedelta(0)) -> Cashier:
    aws = lifecycle.api.aws
    return Cashier(aws.dynamodb, aws.tables, clock=lambda: utc_now() + later)


def test_an_approved_withdrawal_is_never_swept_or_enqueued(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    withdrawal_id = withdrawal(lifecycle)
    assert backoffice.approve(withdrawal_id)[0] == 200
    approved = lifecycle.transaction(withdrawal_id)
    assert approved.status is Status.PROVIDER_CONFIRMED

    queue = CreditQueue(lifecycle.api.aws.sqs, lifecycle.queue_url)
    swept = crediting.sweep_confirmed(cashier(lifecycle), queue, utc_now() + timedelta(hours=6))
    assert swept == 0
    assert lifecycle.receive() == []
    lifecycle.run("PaymentJanitorFunction")
    assert lifecycle.receive() == []
    assert lifecycle.transaction(withdrawal_id) == approved


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled", "refunded", "chargeback"])
def test_a_provider_event_naming_a_withdrawal_is_recorded_never_applied(
    lifecycle: Lifecycle, status: str
) -> None:
    withdrawal_id = withdrawal(lifecycle, method_id="card-sandbox")
    held = lifecycle.transaction(withdrawal_id)
    before = balance(lifecycle)
    reply = lifecycle.sandbox_webhook(lifecycle.sandbox_body(held, status))
    assert reply == (200, {"received": True})
    assert lifecycle.transaction(withdrawal_id) == held
    assert balance(lifecycle) == before
    [delivery] = lifecycle.deliveries()
    assert delivery["outcome"]["S"].startswith("ignored:")
    assert lifecycle.receive() == []


def test_a_verified_confirmation_without_an_amount_goes_to_manual_review(
    lifecycle: Lifecycle,
) -> None:
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL1")
    item = adyen_item(deposit, "AUTHORISATION")
    del item["amount"]
    status, _, _ = lifecycle.post_webhook("adyen", adyen_batch(lifecycle, item), [])
    assert status == 200
    reviewed = lifecycle.transaction(deposit.transaction_id)
    assert reviewed.status is Status.MANUAL_REVIEW
    assert "without an amount" in reviewed.history[-1].reason
    assert lifecycle.receive() == []


def test_a_refund_during_review_stops_backoffice_from_ever_crediting_it(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = lifecycle.deposit()
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded", amount="24.00"))
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    before = balance(lifecycle)
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "refunded"))[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
    assert balance(lifecycle) == before  # nothing was credited, so nothing is reversed
    status, reply = backoffice.resolve(deposit.transaction_id, "credit")
    assert (status, reply["error"]["code"]) == (409, "invalid_transition")
    lifecycle.drain()
    assert balance(lifecycle) == before


def test_a_late_failure_cannot_take_a_deposit_out_of_review(lifecycle: Lifecycle) -> None:
    deposit = lifecycle.deposit()
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded", amount="24.00"))
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "failed"))
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    outcomes = sorted(d["outcome"]["S"] for d in lifecycle.deliveries())
    assert outcomes == ["applied", "refused: manual_review -> failed"]


def test_a_credit_message_cannot_choose_the_amount_or_the_account(lifecycle: Lifecycle) -> None:
    """A forged (version 1) message with a real confirmed deposit's id and version
    but another amount and another customer's account credits only what is stored."""
    deposit = lifecycle.deposit()
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))
    [real] = lifecycle.receive()
    confirmed = lifecycle.transaction(deposit.transaction_id)
    forged = confirmed.model_dump(mode="json")
    forged.update(amount="999999.00", account_id="acc-mallory-usd", customer_id="cus-mallory")
    lifecycle.api.aws.sqs.send_message(
        QueueUrl=lifecycle.queue_url, MessageBody=json.dumps({"transaction": forged})
    )
    lifecycle.api.aws.sqs.delete_message(
        QueueUrl=lifecycle.queue_url, ReceiptHandle=real["ReceiptHandle"]
    )
    before = balance(lifecycle)
    mallory = lifecycle.api.aws.accounts().get("acc-mallory-usd").balance
    lifecycle.drain()
    credited = lifecycle.transaction(deposit.transaction_id)
    assert credited.status is Status.CREDITED
    assert balance(lifecycle) == before + Decimal("25.00")
    assert lifecycle.api.aws.accounts().get("acc-mallory-usd").balance == mallory


@pytest.mark.parametrize("body", ["not json", "[]", '{"v": 9, "transaction_id": "x"}', "{}"])
def test_a_body_that_is_not_a_credit_message_fails_alone_without_raising(
    lifecycle: Lifecycle, body: str
) -> None:
    lifecycle.api.aws.sqs.send_message(QueueUrl=lifecycle.queue_url, MessageBody=body)
    messages = lifecycle.receive()
    result = lifecycle.run_worker(messages)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [messages[0]["MessageId"]]


def test_customers_see_reason_codes_never_operators_notes(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    withdrawal_id = withdrawal(lifecycle)
    assert backoffice.reject(withdrawal_id, reason=AML_NOTE)[0] == 200
    status, reply = lifecycle.api.history("cus-alice")
    assert status == 200
    assert AML_NOTE not in json.dumps(reply)
    [mine] = [t for t in reply["transactions"] if t["transaction_id"] == withdrawal_id]
    assert [c["reason"] for c in mine["history"]] == [
        "withdrawal_requested",
        "withdrawal_declined",
    ]
    # BackOffice still sees the operator's words beside the code.
    _, listed = backoffice.withdrawals()
    assert AML_NOTE not in json.dumps(listed)  # it left the waiting list
    audit = backoffice.audit(withdrawal_id)
    assert [record.reason for record in audit] == [AML_NOTE]


def test_a_refund_decided_on_a_stale_read_is_decided_again_not_recorded_as_refused(
    lifecycle: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refund's webhook reads the deposit while pending; before it records
    its refusal, the success lands and is credited. The refusal must not be
    stored for good: the executor decides again and reverses the credit."""
    deposit = lifecycle.deposit()
    before = balance(lifecycle)
    refund = lifecycle.sandbox_body(deposit, "refunded")
    success = lifecycle.sandbox_body(deposit, "succeeded")
    real_get = TransactionStore.get
    raced: list[bool] = []

    def get_then_another_writer_lands(self: TransactionStore, transaction_id: str) -> Transaction:
        read = real_get(self, transaction_id)
        if not raced:
            raced.append(True)
            assert lifecycle.sandbox_webhook(success)[0] == 200
            lifecycle.drain()
        return read

    monkeypatch.setattr(TransactionStore, "get", get_then_another_writer_lands)
    assert lifecycle.sandbox_webhook(refund)[0] == 200
    monkeypatch.setattr(TransactionStore, "get", real_get)
    assert lifecycle.sandbox_webhook(refund)[0] == 200  # the provider's retry: a duplicate

    final = lifecycle.transaction(deposit.transaction_id)
    assert final.status is Status.REFUNDED
    assert balance(lifecycle) == before
    assert sorted(d["outcome"]["S"] for d in lifecycle.deliveries()) == ["applied", "applied"]


def test_a_stripe_dispute_finds_a_deposit_in_review_by_its_payment_intent(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    """A success with another amount goes to review and keeps the PaymentIntent;
    the dispute (no metadata, only payment_intent) finds it and ends the review,
    so BackOffice can never credit money the issuer took back."""
    deposit = pending(lifecycle, "stripe", "card-stripe", USD, "cs_test_9")
    session = paid_session(deposit, "cs_test_9", "pi_9", 3999)
    assert stripe_post(lifecycle, stripe_event("checkout.session.completed", session)) == 200
    reviewed = lifecycle.transaction(deposit.transaction_id)
    assert (reviewed.status, reviewed.provider_reference) == (Status.MANUAL_REVIEW, "pi_9")
    dispute = providers.stripe_object(
        "dispute", id="dp_9", charge="ch_9", payment_intent="pi_9", amount=3999,
        currency="usd", status="needs_response",
    )  # fmt: skip
    assert stripe_post(lifecycle, stripe_event("charge.dispute.created", dispute)) == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CHARGEBACK
    before = balance(lifecycle)
    status, reply = backoffice.resolve(deposit.transaction_id, "credit")
    assert (status, reply["error"]["code"]) == (409, "invalid_transition")
    lifecycle.drain()
    assert balance(lifecycle) == before


def test_a_partial_refund_of_a_credited_deposit_reverses_only_its_amount(
    lifecycle: Lifecycle,
) -> None:
    """Was: recorded and alarmed, never applied (reversals were whole deposits).
    Issue 12: a reversal is the amount the provider reports."""
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL7")
    lifecycle.post_webhook(
        "adyen", adyen_batch(lifecycle, adyen_item(deposit, "AUTHORISATION")), []
    )
    lifecycle.drain()
    eur = lifecycle.api.aws.accounts().get("acc-alice-eur").balance
    partial = adyen_item(deposit, "REFUND", psp="9916")
    partial["amount"] = {"currency": "EUR", "value": 1000}
    assert lifecycle.post_webhook("adyen", adyen_batch(lifecycle, partial), [])[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    assert lifecycle.api.aws.accounts().get("acc-alice-eur").balance == eur - 10
    outcomes = sorted(d["outcome"]["S"] for d in lifecycle.deliveries())
    assert outcomes == ["applied", "applied"]


@pytest.mark.parametrize("reversal", ["refunded", "chargeback"])
def test_a_reversal_before_the_success_puts_the_deposit_in_front_of_a_person(
    lifecycle: Lifecycle, reversal: str
) -> None:
    """Out-of-order delivery: the refund or dispute is not refused and forgotten,
    so the success that follows can never credit money that has already left."""
    deposit = lifecycle.deposit()
    before = balance(lifecycle)
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, reversal))[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    assert balance(lifecycle) == before


def sam_generated_sqs_event() -> dict[str, Any]:
    """`sam local generate-event sqs receive-message`: a body of "Hello from SQS!"."""
    command = [str(Path(sys.executable).with_name("sam")), "local", "generate-event", "sqs",
               "receive-message"]  # fmt: skip
    output = subprocess.run(  # noqa: S603 - the sam CLI from our own venv
        command,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    ).stdout
    event: dict[str, Any] = json.loads(output)
    return event


def test_sams_generated_sqs_event_is_a_batch_item_failure_never_a_crash(
    lifecycle: Lifecycle,
) -> None:
    event = sam_generated_sqs_event()
    [record] = event["Records"]
    assert lifecycle.api.raw("CreditWorkerFunction", event) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }


def test_a_poison_record_beside_a_real_one_fails_alone(lifecycle: Lifecycle) -> None:
    deposit = lifecycle.deposit()
    lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))
    [real] = lifecycle.receive()
    event = sam_generated_sqs_event()
    poison = event["Records"][0]
    event["Records"].append({**poison, "messageId": real["MessageId"], "body": real["Body"]})
    assert lifecycle.api.raw("CreditWorkerFunction", event) == {
        "batchItemFailures": [{"itemIdentifier": poison["messageId"]}]
    }
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("charge.refunded", providers.stripe_object(
            "charge", id="ch_1", payment_intent="pi_1", refunded=True, amount=4000,
            amount_captured=4000, amount_refunded=4000, currency="usd", metadata={})),
        ("charge.dispute.created", providers.stripe_object(
            "dispute", id="dp_1", payment_intent="pi_1", charge="ch_1", amount=4000,
            currency="usd", status="needs_response")),
    ],
)  # fmt: skip
def test_a_reversal_naming_a_reference_not_known_yet_is_retried_not_forgotten(
    lifecycle: Lifecycle, kind: str, obj: dict[str, Any]
) -> None:
    """A Stripe refund or dispute names only the PaymentIntent, which a deposit
    learns from its success. Before that it is answered 503 and parked (no
    delivery is stored), so Stripe's retry, or the janitor, finds the deposit
    once the success arrived."""
    deposit = pending(lifecycle, "stripe", "card-stripe", USD, "cs_test_1")
    reversal = stripe_event(kind, obj)
    assert stripe_post(lifecycle, reversal) == 503
    assert [d["delivery_id"]["S"] for d in lifecycle.deliveries()] == [f"parked#stripe#evt_{kind}"]
    session = paid_session(deposit, "cs_test_1", "pi_1", 4000)
    before = balance(lifecycle)
    assert stripe_post(lifecycle, stripe_event("checkout.session.completed", session)) == 200
    assert stripe_post(lifecycle, reversal) == 200  # Stripe's retry
    lifecycle.drain()
    final = lifecycle.transaction(deposit.transaction_id)
    assert final.status in (Status.REFUNDED, Status.CHARGEBACK)
    assert balance(lifecycle) == before


def test_part_of_a_deposit_refunded_before_its_credit_goes_to_a_person(
    lifecycle: Lifecycle, backoffice: BackOffice
) -> None:
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL5")
    lifecycle.post_webhook(
        "adyen", adyen_batch(lifecycle, adyen_item(deposit, "AUTHORISATION")), []
    )
    partial = adyen_item(deposit, "REFUND", psp="9917")
    partial["amount"] = {"currency": "EUR", "value": 1000}
    assert lifecycle.post_webhook("adyen", adyen_batch(lifecycle, partial), [])[0] == 200
    assert lifecycle.transaction(deposit.transaction_id).status is Status.MANUAL_REVIEW
    eur = lifecycle.api.aws.accounts().get("acc-alice-eur").balance
    lifecycle.drain()  # the credit message that was already queued credits nothing
    assert lifecycle.api.aws.accounts().get("acc-alice-eur").balance == eur
    # A person decides; the deposit was not lost to a final status.
    assert backoffice.resolve(deposit.transaction_id, "credit")[0] == 200
    lifecycle.drain()
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED


def test_a_refund_of_what_the_provider_captured_ends_the_review_it_caused(
    lifecycle: Lifecycle,
) -> None:
    """Paid 41.00 for a 40.00 deposit (review); refunding the 41.00 is whole."""
    deposit = pending(lifecycle, "adyen", "card-adyen", "acc-alice-eur", "PL6")
    paid = adyen_item(deposit, "AUTHORISATION")
    paid["amount"] = {"currency": "EUR", "value": 4100}
    lifecycle.post_webhook("adyen", adyen_batch(lifecycle, paid), [])
    reviewed = lifecycle.transaction(deposit.transaction_id)
    assert (reviewed.status, reviewed.provider_amount) == (Status.MANUAL_REVIEW, Decimal("41.00"))
    refund = adyen_item(deposit, "REFUND", psp="9918")
    refund["amount"] = {"currency": "EUR", "value": 4100}
    lifecycle.post_webhook("adyen", adyen_batch(lifecycle, refund), [])
    assert lifecycle.transaction(deposit.transaction_id).status is Status.REFUNDED
