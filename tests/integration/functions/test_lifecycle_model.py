"""Model-based: random sequences of deposits, webhooks (duplicated, reordered,
tampered), credit redeliveries, crashes, injected throttling and conflicts,
sweeps, janitor runs, withdrawals and BackOffice decisions, through the real
handlers against moto, beside a small reference model of the balance.

After every step: the account's balance equals the sum of its ledger entries
and the model's balance; no deposit is credited twice; every status history
follows the transition table; and once the sweeper and the worker have run,
nothing is left in provider_confirmed.

The default profile runs in `make test`; `--hypothesis-profile=deep` runs
2,000 examples (docs/reliability.md)."""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cashier_core.clock import utc_now
from cashier_core.credit_queue import read_message
from cashier_core.crediting import sweep_confirmed
from cashier_core.janitor import run_janitor
from cashier_core.models import CustomerRecord, LedgerEntry, LedgerKind, TradingAccount
from cashier_core.statuses import INITIAL_STATUS, Status, can_transition
from cashier_core.storage.codec import to_item
from cashier_core.storage.tables import LEDGER_SORT_PREFIX
from tests.support import builders
from tests.support.backoffice import BackOffice
from tests.support.lifecycle import Lifecycle

AMOUNTS = ["10.00", "25.00", "99.99", "1234.56"]
WEBHOOK_STATUSES = ["succeeded", "failed", "cancelled", "refunded", "chargeback"]


# --- the reference model: what the balance must be, from the events alone --------
@dataclass
class ModelDeposit:
    transaction_id: str
    amount: Decimal
    phase: str = "pending"  # pending confirmed credited failed cancelled refunded chargeback review
    queued: bool = False  # a credit message is on its way to the worker


def model_webhook(deposit: ModelDeposit, status: str, matches: bool) -> Decimal:
    """Apply one provider event to the model; returns the balance change."""
    phase = deposit.phase
    if status == "succeeded":
        if not matches:
            if phase in ("pending", "failed", "cancelled"):
                deposit.phase = "review"
        elif phase == "pending":
            deposit.phase, deposit.queued = "confirmed", True
        elif phase in ("failed", "cancelled"):
            deposit.phase = "review"  # a success after failure needs a person
        return Decimal(0)
    if status == "failed" and phase in ("pending", "review"):
        deposit.phase = "failed"
    elif status == "cancelled" and phase == "pending":
        deposit.phase = "cancelled"
    elif status in ("refunded", "chargeback") and phase in ("confirmed", "credited"):
        deposit.phase = "refunded" if status == "refunded" else "chargeback"
        if phase == "credited":
            return -deposit.amount  # the credit is reversed
    return Decimal(0)


@dataclass
class Delivery:
    deposit: ModelDeposit
    status: str
    matches: bool
    body: bytes


class CashierModel(RuleBasedStateMachine):
    deliveries = Bundle("deliveries")
    held = Bundle("withdrawals")

    examples = 0  # how many examples a run made, for docs/reliability.md

    def __init__(self, lifecycle: Lifecycle) -> None:
        super().__init__()
        CashierModel.examples += 1
        self.lifecycle = lifecycle
        self.aws = lifecycle.api.aws
        # Each example gets its own customer and account in the shared tables.
        suffix = uuid.uuid4().hex[:12]
        self.customer_id, self.account_id = f"cus-model-{suffix}", f"acc-model-{suffix}"
        self.aws.customers().put(
            CustomerRecord(customer_id=self.customer_id, brand_id="brand-alpha", country="DE")
        )
        self.aws.accounts().create(
            TradingAccount(
                account_id=self.account_id,
                customer_id=self.customer_id,
                brand_id="brand-alpha",
                currency="USD",
                balance=Decimal("100.00"),
            ),
            builders.T0,
        )
        self.lifecycle.api.seed.customers.append(
            CustomerRecord(customer_id=self.customer_id, brand_id="brand-alpha", country="DE")
        )
        # Leftovers of earlier examples must not steer this one.
        while leftovers := lifecycle.receive():
            for message in leftovers:
                self.aws.sqs.delete_message(
                    QueueUrl=lifecycle.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.balance = Decimal("100.00")
        self.deposits: list[ModelDeposit] = []
        self.sent_messages: list[str] = []
        self.swept = False

    def teardown(self) -> None:
        """Remove what this example wrote. moto's TransactWriteItems deep-copies
        each table it touches, so tables that grew with every example would
        make a long run quadratic in time and memory."""
        aws, dynamodb = self.aws, self.aws.dynamodb
        transactions = [
            item["transaction_id"]["S"]
            for page in dynamodb.get_paginator("query").paginate(
                TableName=aws.tables.transactions,
                IndexName="by_customer",
                KeyConditionExpression="customer_id = :c",
                ExpressionAttributeValues={":c": {"S": self.customer_id}},
            )
            for item in page["Items"]
        ]
        for transaction_id in transactions:
            dynamodb.delete_item(
                TableName=aws.tables.transactions, Key={"transaction_id": {"S": transaction_id}}
            )
            for table, index, key in (
                (aws.tables.webhook_deliveries, "by_transaction", "delivery_id"),
                (aws.tables.audit, None, "audit_id"),
            ):
                request: dict[str, Any] = {
                    "TableName": table,
                    "KeyConditionExpression": f"{'transaction_id' if index else 'subject_id'} = :t",
                    "ExpressionAttributeValues": {":t": {"S": transaction_id}},
                }
                if index:
                    request["IndexName"] = index
                for item in dynamodb.query(**request)["Items"]:
                    item_key = (
                        {key: item[key]}
                        if index
                        else {"subject_id": item["subject_id"], key: item[key]}
                    )
                    dynamodb.delete_item(TableName=table, Key=item_key)
        for item in dynamodb.query(
            TableName=aws.tables.accounts,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": self.account_id}},
        )["Items"]:
            dynamodb.delete_item(
                TableName=aws.tables.accounts,
                Key={"account_id": item["account_id"], "sk": item["sk"]},
            )
        dynamodb.delete_item(
            TableName=aws.tables.customers, Key={"customer_id": {"S": self.customer_id}}
        )
        self.lifecycle.api.seed.customers[:] = [
            c for c in self.lifecycle.api.seed.customers if c.customer_id != self.customer_id
        ]
        idempotency = aws.resources.refs["IdempotencyTable"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=idempotency):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=idempotency, Key={"id": item["id"]})

    # --- helpers -----------------------------------------------------------------
    def _module(self, function_id: str) -> Any:
        return self.lifecycle.api.module(function_id)

    def _fail_next(self, client: Any, operation: str, code: str) -> Callable[[], None]:
        """The next `operation` on `client` fails with `code` (throttling, a conflict,
        a lost send). Returns what disarms it, should no such call come."""
        service = client.meta.service_model.service_name
        event = f"before-call.{service}.{operation}"

        def fail(**_: object) -> None:
            client.meta.events.unregister(event, fail)
            if code == "TransactionConflict":
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                        "CancellationReasons": [{"Code": "TransactionConflict"}],
                    },
                    operation,
                )
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

        client.meta.events.register(event, fail)
        return lambda: client.meta.events.unregister(event, fail)

    def _drain(self) -> None:
        ours = {deposit.transaction_id for deposit in self.deposits}
        while messages := self.lifecycle.receive():
            self.sent_messages.extend(
                m["Body"] for m in messages if read_message(m["Body"]).transaction_id in ours
            )
            self.lifecycle.run_worker(messages)
        for deposit in self.deposits:
            if deposit.phase == "confirmed" and deposit.queued:
                deposit.phase = "credited"
                self.balance += deposit.amount
            deposit.queued = False

    def _deliver(self, delivery: Delivery) -> int:
        status, _ = self.lifecycle.sandbox_webhook(delivery.body)
        return status

    # --- rules ---------------------------------------------------------------------
    @rule(amount=st.sampled_from(AMOUNTS))
    def create_deposit(self, amount: str) -> None:
        deposit = self.lifecycle.deposit(
            self.customer_id, account_id=self.account_id, amount=amount
        )
        self.deposits.append(ModelDeposit(deposit.transaction_id, Decimal(amount)))

    @precondition(lambda self: self.deposits)
    @rule(
        target=deliveries,
        pick=st.integers(min_value=0),
        status=st.sampled_from(WEBHOOK_STATUSES),
        matches=st.booleans(),
    )
    def deliver_webhook(self, pick: int, status: str, matches: bool) -> Delivery:
        deposit = self.deposits[pick % len(self.deposits)]
        transaction = self.lifecycle.transaction(deposit.transaction_id)
        amount = f"{deposit.amount:f}" if matches else f"{deposit.amount + 1:f}"
        delivery = Delivery(
            deposit,
            status,
            matches,
            self.lifecycle.sandbox_body(transaction, status, amount=amount),
        )
        assert self._deliver(delivery) == 200
        self.balance += model_webhook(deposit, status, matches or status != "succeeded")
        self.swept = False
        return delivery

    @rule(delivery=deliveries)
    def redeliver_webhook(self, delivery: Delivery) -> None:
        # A duplicate (or a late, out-of-order copy) changes no status; for a
        # confirmed deposit it enqueues the credit again, as the retry of a 503 must.
        assert self._deliver(delivery) == 200
        if delivery.deposit.phase == "confirmed":
            delivery.deposit.queued = True

    @rule(delivery=deliveries, position=st.integers(min_value=0))
    def deliver_tampered_webhook(self, delivery: Delivery, position: int) -> None:
        from cashier_providers import signing

        body = bytearray(delivery.body)
        index = position % len(body)
        header = signing.sign(bytes(body), self.lifecycle.sandbox_secret(), _now())
        body[index] = (body[index] + 1) % 256
        status, _, _ = self.lifecycle.post_webhook(
            "sandbox", bytes(body), [("X-Sandbox-Signature", header)]
        )
        assert status in (400, 401)

    @precondition(lambda self: self.deposits)
    @rule(pick=st.integers(min_value=0))
    def crash_after_confirming_before_enqueueing(self, pick: int) -> None:
        """The status changes, the send to the queue fails: the provider is told 503."""
        deposit = self.deposits[pick % len(self.deposits)]
        webhook = self._module("ProcessCashierWebhookFunction")
        disarm = self._fail_next(webhook.queue._sqs, "SendMessage", "ServiceUnavailable")
        transaction = self.lifecycle.transaction(deposit.transaction_id)
        body = self.lifecycle.sandbox_body(transaction, "succeeded")
        status, _ = self.lifecycle.sandbox_webhook(body)
        disarm()
        before = deposit.phase
        self.balance += model_webhook(deposit, "succeeded", True)
        if before == "pending":
            assert status == 503  # confirmed, but no credit message: the sweeper recovers it
            deposit.queued = False
        else:
            assert status == 200
        self.swept = False

    @rule()
    def run_worker(self) -> None:
        self._drain()

    @precondition(lambda self: self.sent_messages)
    @rule(pick=st.integers(min_value=0))
    def redeliver_credit_message(self, pick: int) -> None:
        body = self.sent_messages[pick % len(self.sent_messages)]
        self.aws.sqs.send_message(QueueUrl=self.lifecycle.queue_url, MessageBody=body)
        self._drain()

    @rule(code=st.sampled_from(["ThrottlingException", "TransactionConflict"]))
    def worker_meets_throttling_or_a_conflict(self, code: str) -> None:
        worker = self._module("CreditWorkerFunction")
        disarm = self._fail_next(worker.cashier.transactions._client, "TransactWriteItems", code)
        self._drain()  # the failed message is received again and credits then
        disarm()

    @rule()
    def run_sweeper(self) -> None:
        worker = self._module("CreditSweeperFunction")
        later = utc_now() + timedelta(minutes=10)
        sweep_confirmed(worker.cashier, worker.queue, later)
        for deposit in self.deposits:
            deposit.queued = deposit.queued or deposit.phase == "confirmed"
        self._drain()
        self.swept = True

    @rule()
    def run_janitor_after_expiry(self) -> None:
        janitor = self._module("PaymentJanitorFunction")
        later = utc_now() + timedelta(minutes=31)  # past the sandbox's 30-minute expiry
        run_janitor(janitor.cashier, janitor.queue, later, timedelta(minutes=5))
        for deposit in self.deposits:
            if deposit.phase == "pending":
                deposit.phase = "cancelled"

    @rule(target=held, amount=st.sampled_from(["5.00", "50.00", "500.00"]))
    def request_withdrawal(self, amount: str) -> Any:
        status, body = self.lifecycle.api.withdraw(
            self.customer_id, {"account_id": self.account_id, "amount": amount, "currency": "USD"}
        )
        if Decimal(amount) <= self.balance:
            assert status == 201, body
            self.balance -= Decimal(amount)
            return (body["transaction"]["transaction_id"], Decimal(amount))
        assert (status, body["error"]["code"]) == (422, "insufficient_funds")
        return multiple()

    @rule(withdrawal=consumes(held))
    def backoffice_rejects_withdrawal(self, withdrawal: tuple[str, Decimal]) -> None:
        status, body = BackOffice(self.lifecycle.api).reject(withdrawal[0])
        assert (status, body["applied"]) == (200, True)
        self.balance += withdrawal[1]

    # --- invariants -------------------------------------------------------------------
    @invariant()
    def balance_is_the_ledger_and_the_model(self) -> None:
        stored = self.aws.accounts().get(self.account_id, consistent=True).balance
        ledger = self.aws.accounts().ledger(self.account_id)
        assert stored == sum((e.amount for e in ledger), Decimal(0))
        assert stored == self.balance

    @invariant()
    def nothing_is_credited_twice(self) -> None:
        kinds = Counter(
            (entry.transaction_id, entry.kind)
            for entry in self.aws.accounts().ledger(self.account_id)
        )
        for deposit in self.deposits:
            credit_entries = kinds[(deposit.transaction_id, LedgerKind.CREDIT)]
            reversals = kinds[(deposit.transaction_id, LedgerKind.REVERSAL)]
            assert credit_entries - reversals in (0, 1)
            assert credit_entries <= 1  # nothing here re-credits after a reversal

    @invariant()
    def histories_follow_the_transition_table(self) -> None:
        for deposit in self.deposits:
            transaction = self.lifecycle.transaction(deposit.transaction_id)
            statuses = [change.status for change in transaction.history]
            assert statuses[0] is INITIAL_STATUS[transaction.type]
            for source, target in itertools.pairwise(statuses):
                assert can_transition(transaction.type, source, target), (source, target)
            assert transaction.status is statuses[-1]

    @invariant()
    def nothing_waits_in_provider_confirmed_after_a_sweep(self) -> None:
        if not self.swept:
            return
        for deposit in self.deposits:
            assert (
                self.lifecycle.transaction(deposit.transaction_id).status
                is not Status.PROVIDER_CONFIRMED
            )


def _now() -> int:
    return int(time.time())


def model_settings() -> settings:
    """The deep profile's own count; otherwise a CI-sized run."""
    if settings.get_current_profile_name() == "deep":
        return settings()
    return settings(max_examples=20, stateful_step_count=25, deadline=None)


def test_money_invariants_hold_under_any_sequence(lifecycle: Lifecycle) -> None:
    CashierModel.examples = 0
    run_state_machine_as_test(lambda: CashierModel(lifecycle), settings=model_settings())
    sys.stdout.write(f"\nmodel examples run: {CashierModel.examples}\n")  # seen with -s


def test_the_invariants_see_a_double_credit(lifecycle: Lifecycle) -> None:
    """A second credit written with its own ledger entry keeps balance == ledger,
    so only the model and the credit count can see it: they must."""
    machine = CashierModel(lifecycle)
    machine.create_deposit("25.00")
    deposit = machine.deposits[0]
    machine.lifecycle.sandbox_webhook(
        machine.lifecycle.sandbox_body(lifecycle.transaction(deposit.transaction_id), "succeeded")
    )
    model_webhook(deposit, "succeeded", True)
    machine.run_worker()
    credited = lifecycle.transaction(deposit.transaction_id)
    entry = LedgerEntry.for_transaction(credited, LedgerKind.CREDIT, utc_now())
    entry = entry.model_copy(update={"entry_id": entry.entry_id + "#again"})
    aws = machine.aws
    aws.dynamodb.transact_write_items(
        TransactItems=[
            {"Update": {"TableName": aws.tables.accounts,
                        "Key": {"account_id": {"S": machine.account_id}, "sk": {"S": "ACCOUNT"}},
                        "UpdateExpression": "ADD balance :x",
                        "ExpressionAttributeValues": {":x": {"N": "25"}}}},
            {"Put": {"TableName": aws.tables.accounts,
                     "Item": to_item(entry, sk=LEDGER_SORT_PREFIX + entry.entry_id)}},
        ]
    )  # fmt: skip
    try:
        for check in (
            machine.balance_is_the_ledger_and_the_model,
            machine.nothing_is_credited_twice,
        ):
            with pytest.raises(AssertionError):
                check()
    finally:
        # Undo it the same way, so the after-test balance check speaks of the code.
        undo = entry.model_copy(
            update={"entry_id": entry.entry_id + "#undo", "amount": -entry.amount}
        )
        aws.dynamodb.transact_write_items(
            TransactItems=[
                {"Update": {"TableName": aws.tables.accounts,
                            "Key": {"account_id": {"S": machine.account_id}, "sk": {"S": "ACCOUNT"}},
                            "UpdateExpression": "ADD balance :x",
                            "ExpressionAttributeValues": {":x": {"N": "-25"}}}},
                {"Put": {"TableName": aws.tables.accounts,
                         "Item": to_item(undo, sk=LEDGER_SORT_PREFIX + undo.entry_id)}},
            ]
        )  # fmt: skip
