"""Model-based: random sequences of deposits (sandbox, and Adyen whose
notifications may carry no amount), webhooks (duplicated, reordered, tampered,
with other money or none), credit redeliveries, crashes, injected throttling and
conflicts, sweeps, janitor runs, BackOffice resolving reviewed deposits, and
withdrawals through approval (with return-to-source routes), rejection and failed
payouts, refunds and chargebacks of routed deposits, late provider
events naming them, through the real handlers against moto, beside a small
reference model of every status and of the balance.

After every step: the account's balance equals the sum of its ledger entries
and the model's balance; every deposit's route shares are the model's; every deposit-limit counter holds exactly what the
model's counted, unreleased deposits add up to, and no period's counted sum
or number exceeds its limit (each example's customer has a tight self-limit, so
deposits are refused with deposit_limit_exceeded exactly when the model says); every status is the model's; no deposit is credited
twice and every hold moves once; nothing but BackOffice ever writes a
withdrawal and no credit message ever names one; every status history follows
the transition table; and once the sweeper and the worker have run, nothing is
left in provider_confirmed.

The default profile runs in `make test`; `--hypothesis-profile=deep` runs
2,000 examples (docs/reliability.md)."""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cashier_core.clock import utc_now
from cashier_core.credit_queue import read_message
from cashier_core.crediting import sweep_confirmed
from cashier_core.janitor import run_janitor
from cashier_core.limits import Period, Usage, window
from cashier_core.models import (
    CustomerRecord,
    DepositLimits,
    LedgerEntry,
    LedgerKind,
    PeriodLimit,
    StatusChange,
    TradingAccount,
    Transaction,
)
from cashier_core.return_to_source import BY_WITHDRAWAL_METHOD
from cashier_core.statuses import INITIAL_STATUS, Status, can_transition
from cashier_core.storage.codec import from_item, to_item
from cashier_core.storage.limits import DepositLimitStore, limit_counter_id
from cashier_core.storage.records import BrandStore
from cashier_core.storage.tables import LEDGER_SORT_PREFIX
from tests.support import builders
from tests.support.backoffice import BackOffice
from tests.support.lifecycle import Lifecycle

AMOUNTS = ["10.00", "25.00", "99.99", "1234.56"]
# Each example's customer sets a daily limit it can reach in a run (the brand's are higher).
DAILY_LIMIT = PeriodLimit(amount=Decimal("1300.00"), count=3)
# Four eyes: the model's brand needs two approvers above this (the 50.00 and
# 500.00 withdrawals), one at or under it (5.00).
SECOND_APPROVAL_OVER = Decimal("40.00")
OPERATORS = (
    "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-alice",
    "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/ops-bob",
)
WEBHOOK_STATUSES = ["succeeded", "failed", "cancelled", "refunded", "chargeback"]
# What each status is called in an Adyen notification: (eventCode, success).
ADYEN_CODES = {
    "succeeded": ("AUTHORISATION", "true"),
    "failed": ("AUTHORISATION", "false"),
    "cancelled": ("CANCELLATION", "true"),
    "refunded": ("REFUND", "true"),
    "chargeback": ("CHARGEBACK", "true"),
}
PHASE_STATUS = {
    "pending": Status.PENDING_PAYMENT,
    "confirmed": Status.PROVIDER_CONFIRMED,
    "credited": Status.CREDITED,
    "failed": Status.FAILED,
    "cancelled": Status.CANCELLED,
    "refunded": Status.REFUNDED,
    "chargeback": Status.CHARGEBACK,
    "review": Status.MANUAL_REVIEW,
    "approved": Status.PROVIDER_CONFIRMED,  # a withdrawal paid out by BackOffice
}


# --- the reference model: what the balance must be, from the events alone --------
@dataclass
class ModelDeposit:
    transaction_id: str
    amount: Decimal
    provider: str = "sandbox"
    psp: str | None = None  # Adyen: the payment's pspReference (one per payment)
    # Adyen: the AUTHORISATION results already sent. Adyen identifies an event by
    # (pspReference, eventCode, success), so the same result again is a repeat.
    authorisations: set[str] = field(default_factory=set)
    phase: str = "pending"  # pending confirmed credited failed cancelled refunded chargeback review
    queued: bool = False  # a credit message is on its way to the worker
    # The provider's success carried the other amount and sent it to review: the
    # provider captured that, so a reversal of it is a whole reversal.
    captured_other: bool = False
    # The money, as the ledger and positions.py must see it.
    credited: Decimal = Decimal(0)
    reversed: Decimal = Decimal(0)  # taken back from the account
    before_credit: Decimal = Decimal(0)  # taken back by the provider before any credit
    reinstated: Decimal = Decimal(0)  # came back after a reversal
    # Return to source: approved withdrawals' shares of this deposit, and what
    # refunds or chargebacks of it were those payouts' returns (no ledger entry).
    shares: dict[str, Decimal] = field(default_factory=dict)
    to_source: Decimal = Decimal(0)
    to_source_by_refund: Decimal = Decimal(0)

    # Counted towards the deposit limits (created through the API), in these periods;
    # released once it has been failed or cancelled (and never counted again).
    counted_in: tuple[str, ...] = ()
    released: bool = False
    recounted: bool = False  # given back, then credited after all: counted again

    @property
    def on_account(self) -> Decimal:
        return self.credited - self.reversed

    @property
    def to_credit(self) -> Decimal:
        return self.amount - self.before_credit + self.reinstated - self.credited

    @property
    def routed(self) -> Decimal:
        return sum(self.shares.values(), Decimal(0))

    def reported(self, money: str) -> Decimal | None:
        """The amount an event with `money` carries (None: it carries none)."""
        return {
            "own": self.amount,
            "other": self.amount + 1,
            "part": part_of(self.amount),
            "none": None,
        }[money]


def part_of(amount: Decimal) -> Decimal:
    return (amount / 3).quantize(Decimal("0.01"))


@dataclass
class ModelWithdrawal:
    transaction_id: str
    amount: Decimal
    phase: str = "review"  # review approved cancelled failed
    stored: Transaction | None = None  # as BackOffice (or the request) last left it
    first_approver: str | None = None  # four eyes: above SECOND_APPROVAL_OVER
    # Return to source: the route approved (deposit id -> amount), the first
    # approver's while it waits for the second.
    route: dict[str, Decimal] = field(default_factory=dict)
    cancelled_by_customer: bool = False


def model_webhook(deposit: ModelDeposit, status: str, money: str) -> Decimal:
    """Apply one new provider event to the model; returns the balance change.
    `money` is what the event carried: "own" amount, "other" amount, "part" of
    it, or "none"."""
    phase = deposit.phase
    if deposit.provider == "adyen" and status in ("succeeded", "failed"):
        result = "true" if status == "succeeded" else "false"
        if result in deposit.authorisations:
            # A repeat of an event already delivered: nothing changes, and a
            # confirmed deposit is enqueued again (the first message may be lost).
            deposit.queued = deposit.queued or phase == "confirmed"
            return Decimal(0)
        deposit.authorisations.add(result)
    if status == "succeeded":
        if phase == "confirmed":
            deposit.queued = True  # a repeat re-enqueues: the first message may be lost
        elif phase in ("pending", "failed", "cancelled") and (money != "own" or phase != "pending"):
            deposit.phase = "review"  # other money, no money, or success after failure
            deposit.captured_other = money == "other"
        elif phase == "pending":
            deposit.phase, deposit.queued = "confirmed", True
        # review, credited, refunded, chargeback: nothing (only a person leaves review;
        # a late success never reopens money that moved on)
        return Decimal(0)
    if status == "failed" and phase == "pending":
        deposit.phase = "failed"  # never out of review: only a person does that
    elif status == "cancelled" and phase == "pending":
        deposit.phase = "cancelled"
    elif status in ("refunded", "chargeback"):
        return model_reversal(deposit, status, money)
    elif status == "reinstated":
        model_reinstatement(deposit, money)
    return Decimal(0)


def model_reversal(
    deposit: ModelDeposit, status: str, money: str, *, reported: Decimal | None = None
) -> Decimal:
    """Reversals are amounts: never more than is on the account (issue 12)."""
    phase = deposit.phase
    reported = deposit.reported(money) if reported is None else reported
    owed = deposit.amount - deposit.before_credit - deposit.reversed + deposit.reinstated
    if phase in ("pending", "failed", "cancelled"):
        # Money leaving before we saw it arrive: a person looks, and what it
        # took back is recorded, so a person's credit owes that much less.
        deposit.phase = "review"
        deposit.before_credit += owed if reported is None else min(reported, owed)
        return Decimal(0)
    if phase in ("refunded", "chargeback"):
        return Decimal(0)  # nothing left: refused and alarmed
    on_account = deposit.on_account
    if on_account > 0 or phase == "credited":
        # In order: what routes await (a payout's return: no money moves), what
        # the deposit left on the account, what waits to be re-credited.
        awaiting = max(deposit.routed - deposit.to_source, Decimal(0))
        reversible = max(on_account - max(deposit.routed, deposit.to_source), Decimal(0))
        waiting = max(deposit.to_credit, Decimal(0))
        asked = awaiting + reversible if reported is None else reported
        to_source = min(asked, awaiting)
        taken = min(asked - to_source, reversible)
        before = asked - to_source - taken  # all of the rest counts against what is owed
        over = before - min(before, waiting)
        deposit.reversed += taken
        deposit.to_source += to_source
        deposit.before_credit += before
        if status == "refunded":
            deposit.to_source_by_refund += to_source
        left = reversible - taken + awaiting - to_source
        if over > 0 or to_source + taken + before == 0:
            deposit.phase = "review"
        elif left == 0 and waiting - before <= 0:
            deposit.phase = status
        elif phase not in ("credited", "review"):
            deposit.phase = "review"
        return -taken
    asked = owed if reported is None else reported
    captured = money == "other" and deposit.captured_other
    if captured or asked >= owed:
        deposit.before_credit += min(asked, owed)
        deposit.phase = status
    else:
        deposit.before_credit += asked
        deposit.phase = "review"
    return Decimal(0)


def model_reinstatement(deposit: ModelDeposit, money: str) -> None:
    """Money taken back came back: a person re-credits it after review."""
    # A dispute won returns what was taken back (a chargeback's return to source
    # included), never a refund's return to source.
    taken = (
        deposit.reversed + deposit.before_credit + deposit.to_source - deposit.to_source_by_refund
        - deposit.reinstated
    )  # fmt: skip
    if deposit.phase in ("pending", "failed", "cancelled") or taken <= 0:
        return  # nothing was taken back: recorded only
    reported = deposit.reported(money)
    deposit.reinstated += taken if reported is None else min(reported, taken)
    deposit.phase = "review"


@dataclass
class Delivery:
    deposit: ModelDeposit
    status: str
    money: str
    body: bytes


class CashierModel(RuleBasedStateMachine):
    deliveries = Bundle("deliveries")

    examples = 0  # how many examples a run made, for docs/reliability.md
    # How often the paths issue 11 added were reached, printed with the count.
    reached: ClassVar[Counter[str]] = Counter()
    withdrawal_ids: ClassVar[set[str]] = set()  # of every example: no message may name one

    def __init__(self, lifecycle: Lifecycle) -> None:
        super().__init__()
        CashierModel.examples += 1
        self.lifecycle = lifecycle
        self.aws = lifecycle.api.aws
        self.backoffice = BackOffice(lifecycle.api)
        # Each example gets its own customer and account in the shared tables.
        suffix = uuid.uuid4().hex[:12]
        self.customer_id, self.account_id = f"cus-model-{suffix}", f"acc-model-{suffix}"
        customer = CustomerRecord(
            customer_id=self.customer_id,
            brand_id="brand-alpha",
            country="DE",
            self_limits={"USD": DepositLimits(daily=DAILY_LIMIT)},
        )
        self.aws.customers().put(customer)
        self.account = TradingAccount(
            account_id=self.account_id,
            customer_id=self.customer_id,
            brand_id="brand-alpha",
            currency="USD",
            balance=Decimal("100.00"),
        )
        self.aws.accounts().create(self.account, builders.T0)
        self.lifecycle.api.seed.customers.append(customer)
        # Leftovers of earlier examples must not steer this one.
        while leftovers := lifecycle.receive():
            for message in leftovers:
                assert read_message(message["Body"]) not in CashierModel.withdrawal_ids
                self.aws.sqs.delete_message(
                    QueueUrl=lifecycle.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.balance = Decimal("100.00")
        self.deposits: list[ModelDeposit] = []
        self.withdrawals: list[ModelWithdrawal] = []
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
        for counter_key in {key for d in self.deposits for key in d.counted_in}:
            counter = limit_counter_id(self.customer_id, "USD", counter_key)
            dynamodb.delete_item(
                TableName=aws.tables.rate_limits, Key={"counter_id": {"S": counter}}
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
            named = [read_message(m["Body"]) for m in messages]
            # Only deposits are ever enqueued: never a withdrawal, approved or not.
            assert not set(named) & CashierModel.withdrawal_ids, named
            self.sent_messages.extend(
                m["Body"] for m, tid in zip(messages, named, strict=True) if tid in ours
            )
            self.lifecycle.run_worker(messages)
        for deposit in self.deposits:
            if deposit.phase == "confirmed" and deposit.queued:
                deposit.phase = "credited"
                owed = max(deposit.to_credit, Decimal(0))
                deposit.credited += owed
                self.balance += owed
            deposit.queued = False

    def _event(self, deposit: ModelDeposit, status: str, money: str) -> bytes:
        """A provider's event for the deposit, in its provider's own format."""
        reported = deposit.reported(money)
        if deposit.provider == "adyen":
            code, success = ADYEN_CODES[status]
            amount = None if reported is None else (int(reported * 100), "USD")
            # The payment's pspReference is the deposit's from the start here, so
            # its AUTHORISATION and every modification (which names the payment
            # by originalReference, never by our id) agree on it.
            authorisation = code == "AUTHORISATION"
            return self.lifecycle.adyen_body(
                deposit.transaction_id,
                code,
                success=success,
                amount=amount,
                psp_reference=deposit.psp if authorisation else None,
                original_reference="" if authorisation else deposit.psp or "",
            )
        transaction = self.lifecycle.transaction(deposit.transaction_id)
        assert reported is not None
        return self.lifecycle.sandbox_body(transaction, status, amount=f"{reported:f}")

    def _post(self, provider: str, body: bytes) -> int:
        if provider == "adyen":
            status, _ = self.lifecycle.adyen_webhook(body)
        else:
            status, _ = self.lifecycle.sandbox_webhook(body)
        return status

    def _pick_deposit(self, pick: int, provider: str | None = None) -> ModelDeposit | None:
        candidates = [d for d in self.deposits if provider in (None, d.provider)]
        return candidates[pick % len(candidates)] if candidates else None

    def _read_withdrawal(self, withdrawal: ModelWithdrawal) -> None:
        withdrawal.stored = self.lifecycle.transaction(withdrawal.transaction_id)

    # --- rules: deposits and provider events -----------------------------------------
    def _counted_today(self) -> Usage:
        today = window(Period.DAILY, utc_now()).counter_key
        usage = Usage()
        for deposit in self.deposits:
            if today in deposit.counted_in and not deposit.released:
                usage = usage.plus(deposit.amount)
        return usage

    @rule(amount=st.sampled_from(AMOUNTS))
    def create_deposit(self, amount: str) -> None:
        used = self._counted_today()
        fits = used.amount + Decimal(amount) <= (DAILY_LIMIT.amount or 0) and used.count + 1 <= (
            DAILY_LIMIT.count or 0
        )
        request = {
            "account_id": self.account_id,
            "method_id": "card-sandbox",
            "amount": amount,
            "currency": "USD",
        }
        status, body = self.lifecycle.api.deposit(self.customer_id, request)
        if not fits:
            CashierModel.reached["deposit refused by its daily limit"] += 1
            assert (status, body["error"]["code"]) == (422, "deposit_limit_exceeded"), body
            assert body["error"]["limit"]["period"] == "daily"
            return
        assert status == 201, body
        deposit = self.lifecycle.transaction(body["transaction"]["transaction_id"])
        self.deposits.append(
            ModelDeposit(deposit.transaction_id, Decimal(amount), counted_in=deposit.counted_in)
        )

    @rule(amount=st.sampled_from(AMOUNTS))
    def deposit_paid_and_credited(self, amount: str) -> None:
        """The common path in one step (a deposit, its success, the worker), so
        that withdrawals find credited deposits to route back to."""
        before = len(self.deposits)
        self.create_deposit(amount)
        if len(self.deposits) == before:
            return  # refused by its limit
        deposit = self.deposits[-1]
        assert self._post("sandbox", self._event(deposit, "succeeded", "own")) == 200
        self.balance += model_webhook(deposit, "succeeded", "own")
        self._drain()

    @precondition(lambda self: any(d.shares for d in self.deposits))
    @rule(
        target=deliveries,
        pick=st.integers(min_value=0),
        status=st.sampled_from(["refunded", "chargeback"]),
        money=st.sampled_from(["own", "part", "share"]),
    )
    def provider_reports_a_routed_deposit(self, pick: int, status: str, money: str) -> Delivery:
        """The card refund that pays a routed withdrawal (its share, part, or all
        of the deposit), or a chargeback of that deposit."""
        routed = [d for d in self.deposits if d.shares]
        deposit = routed[pick % len(routed)]
        if money == "share":
            amount = min(deposit.shares.values())
            transaction = self.lifecycle.transaction(deposit.transaction_id)
            body = self.lifecycle.sandbox_body(transaction, status, amount=f"{amount:f}")
            delivery = Delivery(deposit, status, "own", body)
            deposit_reported = amount
        else:
            delivery = Delivery(deposit, status, money, self._event(deposit, status, money))
            deposit_reported = deposit.reported(money) or Decimal(0)
        assert self._post(deposit.provider, delivery.body) == 200
        CashierModel.reached[f"{status} of a routed deposit"] += 1
        before = deposit.to_source
        self.balance += model_reversal(deposit, status, money, reported=deposit_reported)
        if deposit.to_source > before:
            CashierModel.reached["returned to source"] += 1
        self.swept = False
        return delivery

    # A few are enough for what only Adyen sends (no amount); each more is one
    # more transaction every invariant reads.
    @precondition(lambda self: sum(d.provider == "adyen" for d in self.deposits) < 3)
    @rule(amount=st.sampled_from(AMOUNTS))
    def create_adyen_deposit(self, amount: str) -> None:
        """An Adyen payment link already created (its API is not on loopback), so
        that notifications, which may carry no amount at all, reach the handler."""
        now = utc_now()
        psp = f"PSP{uuid.uuid4().hex[:13].upper()}"
        history = tuple(
            StatusChange(status=status, at=now, reason="payment link", source="customer")
            for status in (Status.CREATED, Status.PENDING_PAYMENT)
        )
        created = self.aws.transactions().create(
            builders.transaction(
                self.account,
                status=Status.PENDING_PAYMENT,
                provider="adyen",
                method_id="card-adyen",
                brand_id="brand-alpha",
                provider_reference=psp,
                amount=amount,
                at=now,
                history=history,
                version=2,
            )
        )
        self.deposits.append(
            ModelDeposit(created.transaction_id, Decimal(amount), "adyen", psp=psp)
        )

    @precondition(lambda self: self.deposits)
    @rule(
        target=deliveries,
        pick=st.integers(min_value=0),
        status=st.sampled_from(WEBHOOK_STATUSES),
        matches=st.booleans(),
    )
    def deliver_webhook(self, pick: int, status: str, matches: bool) -> Delivery:
        deposit = self.deposits[pick % len(self.deposits)]
        money = "own" if matches else "other"
        delivery = Delivery(deposit, status, money, self._event(deposit, status, money))
        assert self._post(deposit.provider, delivery.body) == 200
        if deposit.phase == "review" and status in ("refunded", "chargeback"):
            CashierModel.reached["refund or chargeback during review"] += 1
        self.balance += model_webhook(deposit, status, money)
        self.swept = False
        return delivery

    @precondition(lambda self: any(d.provider == "adyen" for d in self.deposits))
    @rule(target=deliveries, pick=st.integers(min_value=0))
    def deliver_confirmation_without_an_amount(self, pick: int) -> Delivery:
        """A verified AUTHORISATION with no amount: a person checks it, never a credit."""
        deposit = self._pick_deposit(pick, "adyen")
        assert deposit is not None
        delivery = Delivery(deposit, "succeeded", "none", self._event(deposit, "succeeded", "none"))
        assert self._post("adyen", delivery.body) == 200
        if deposit.phase == "pending":
            CashierModel.reached["amount-less confirmation"] += 1
        self.balance += model_webhook(deposit, "succeeded", "none")
        self.swept = False
        return delivery

    @precondition(lambda self: any(d.phase == "review" for d in self.deposits))
    @rule(
        target=deliveries,
        pick=st.integers(min_value=0),
        status=st.sampled_from(["refunded", "chargeback"]),
        matches=st.booleans(),
    )
    def refund_or_chargeback_during_review(self, pick: int, status: str, matches: bool) -> Delivery:
        """The money leaves while a person looks: applied, nothing reversed (nothing
        was credited), and no person can credit it afterwards."""
        in_review = [d for d in self.deposits if d.phase == "review"]
        deposit = in_review[pick % len(in_review)]
        money = "own" if matches else "other"
        delivery = Delivery(deposit, status, money, self._event(deposit, status, money))
        assert self._post(deposit.provider, delivery.body) == 200
        CashierModel.reached["refund or chargeback during review"] += 1
        self.balance += model_webhook(deposit, status, money)
        if deposit.phase == "review":
            return delivery  # a partial reversal: still a person's to decide
        assert deposit.phase == status
        answer, body = self.backoffice.resolve(deposit.transaction_id, "credit")
        assert (answer, body["error"]["code"]) == (409, "invalid_transition"), body
        return delivery

    @precondition(lambda self: self.deposits)
    @rule(
        target=deliveries,
        pick=st.integers(min_value=0),
        status=st.sampled_from(["refunded", "chargeback"]),
    )
    def deliver_partial_reversal(self, pick: int, status: str) -> Delivery:
        """A third of the deposit refunded or charged back: that amount, never all."""
        deposit = self.deposits[pick % len(self.deposits)]
        delivery = Delivery(deposit, status, "part", self._event(deposit, status, "part"))
        assert self._post(deposit.provider, delivery.body) == 200
        CashierModel.reached[f"partial {status} while {deposit.phase}"] += 1
        self.balance += model_webhook(deposit, status, "part")
        self.swept = False
        return delivery

    @precondition(lambda self: any(d.provider == "sandbox" for d in self.deposits))
    @rule(target=deliveries, pick=st.integers(min_value=0), whole=st.booleans())
    def deliver_reinstatement(self, pick: int, whole: bool) -> Delivery:
        """A dispute won or a refund that failed: the money came back; a person credits it."""
        deposit = self._pick_deposit(pick, "sandbox")
        assert deposit is not None
        money = "own" if whole else "part"
        delivery = Delivery(deposit, "reinstated", money, self._event(deposit, "reinstated", money))
        assert self._post("sandbox", delivery.body) == 200
        CashierModel.reached[f"reinstatement while {deposit.phase}"] += 1
        self.balance += model_webhook(deposit, "reinstated", money)
        self.swept = False
        return delivery

    @rule(delivery=deliveries)
    def redeliver_webhook(self, delivery: Delivery) -> None:
        # A duplicate (or a late, out-of-order copy) changes no status; for a
        # confirmed deposit it enqueues the credit again, as the retry of a 503 must.
        assert self._post(delivery.deposit.provider, delivery.body) == 200
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
        body = self._event(deposit, "succeeded", "own")
        status = self._post(deposit.provider, body)
        disarm()
        before, queued = deposit.phase, deposit.queued
        self.balance += model_webhook(deposit, "succeeded", "own")
        if deposit.phase == "confirmed":
            # Confirmed (now or before), but the credit message was not sent: the
            # provider retries, or the sweeper recovers it.
            assert status == 503
            deposit.queued = queued if before == "confirmed" else False
        else:
            assert status == 200
        self.swept = False

    @precondition(lambda self: self.deposits)
    @rule(
        pick=st.integers(min_value=0),
        decision=st.sampled_from(["credit", "reject"]),
        where=st.sampled_from(["review", "refunded", "chargeback", "any"]),
    )
    def backoffice_resolves_deposit(self, pick: int, decision: str, where: str) -> None:
        """Only a deposit in review is resolved; one refunded or charged back during
        review (or anything else) is never credited by a person."""
        chosen = [d for d in self.deposits if where in ("any", d.phase)] or self.deposits
        deposit = chosen[pick % len(chosen)]
        status, body = self.backoffice.resolve(deposit.transaction_id, decision)
        target = "confirmed" if decision == "credit" else "failed"
        if deposit.phase in ("refunded", "chargeback") and decision == "credit":
            CashierModel.reached["credit refused after a refund or chargeback"] += 1
        if deposit.phase == "review" and decision == "reject" and deposit.on_account > 0:
            # Credited money is on the account: rejecting would strand it there.
            CashierModel.reached["reject refused with money on the account"] += 1
            assert (status, body["error"]["code"]) == (409, "invalid_transition"), body
        elif deposit.phase == "review":
            assert (status, body["applied"]) == (200, True), body
            deposit.phase = target
            deposit.queued = decision == "credit"
        elif deposit.phase == target or (decision == "credit" and deposit.phase == "credited"):
            assert (status, body["applied"]) == (200, False), body
            deposit.queued = deposit.queued or deposit.phase == "confirmed"
        else:
            assert (status, body["error"]["code"]) == (409, "invalid_transition"), body
        self.swept = False

    # --- rules: the credit worker and the schedules ----------------------------------
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

    # When a confirmation may wait for its credit, or an approved withdrawal
    # could be taken for one.
    @precondition(
        lambda self: (
            any(d.phase == "confirmed" for d in self.deposits)
            or any(w.phase == "approved" for w in self.withdrawals)
        )
    )
    @rule()
    def run_sweeper(self) -> None:
        worker = self._module("CreditSweeperFunction")
        later = utc_now() + timedelta(minutes=10)
        sweep_confirmed(worker.cashier, worker.queue, later)
        if any(w.phase == "approved" for w in self.withdrawals):
            CashierModel.reached["sweep with an approved withdrawal"] += 1
        for deposit in self.deposits:
            deposit.queued = deposit.queued or deposit.phase == "confirmed"
        self._drain()
        self.swept = True

    # When it has work, or an approved withdrawal it must never take for work.
    @precondition(
        lambda self: (
            any(d.phase == "pending" for d in self.deposits)
            or any(w.phase == "approved" for w in self.withdrawals)
        )
    )
    @rule()
    def run_janitor_after_expiry(self) -> None:
        janitor = self._module("PaymentJanitorFunction")
        later = utc_now() + timedelta(minutes=31)  # past the sandbox's 30-minute expiry
        run_janitor(janitor.cashier, janitor.queue, later, timedelta(minutes=5))
        if any(w.phase == "approved" for w in self.withdrawals):
            CashierModel.reached["janitor with an approved withdrawal"] += 1
        for deposit in self.deposits:
            # Adyen's payment links live 24 hours and are not due a question yet.
            if deposit.phase == "pending" and deposit.provider == "sandbox":
                deposit.phase = "cancelled"
        self._drain()  # whatever a job enqueued reaches the worker (and the checks)

    # --- rules: withdrawals through BackOffice -----------------------------------------
    @rule(amount=st.sampled_from(["5.00", "50.00", "500.00"]), with_method=st.booleans())
    def request_withdrawal(self, amount: str, with_method: bool) -> None:
        request = {"account_id": self.account_id, "amount": amount, "currency": "USD"}
        if with_method:  # paid out through the sandbox: it has a provider
            request["method_id"] = "card-sandbox"
        status, body = self.lifecycle.api.withdraw(self.customer_id, request)
        if Decimal(amount) <= self.balance:
            assert status == 201, body
            self.balance -= Decimal(amount)
            withdrawal = ModelWithdrawal(body["transaction"]["transaction_id"], Decimal(amount))
            CashierModel.withdrawal_ids.add(withdrawal.transaction_id)
            self._read_withdrawal(withdrawal)
            self.withdrawals.append(withdrawal)
        else:
            assert (status, body["error"]["code"]) == (422, "insufficient_funds")

    def _suggested_route(self, withdrawal: ModelWithdrawal) -> dict[str, str] | None:
        """BackOffice's suggestion, when it returns anything to a deposit."""
        status, view = self.backoffice.withdrawal(withdrawal.transaction_id)
        assert status == 200, view
        route: dict[str, str] = view["suggestion"]["route"]
        return route if set(route) - {BY_WITHDRAWAL_METHOD} else None

    def _route_fits(self, withdrawal: ModelWithdrawal, route: dict[str, Decimal]) -> bool:
        """The check an approval makes: each deposit's part within what is left
        of it (credited, less reversed, less the other withdrawals' shares)."""
        by_id = {d.transaction_id: d for d in self.deposits}
        for deposit_id, amount in route.items():
            deposit = by_id[deposit_id]
            others = deposit.routed - deposit.shares.get(withdrawal.transaction_id, Decimal(0))
            if deposit.credited <= 0 or amount > deposit.credited - deposit.reversed - others:
                return False
        return True

    def _pay_out(self, withdrawal: ModelWithdrawal) -> None:
        withdrawal.phase = "approved"
        by_id = {d.transaction_id: d for d in self.deposits}
        for deposit_id, amount in withdrawal.route.items():
            by_id[deposit_id].shares[withdrawal.transaction_id] = amount
        if withdrawal.route:
            CashierModel.reached["paid out with a route back to a deposit"] += 1

    @precondition(lambda self: self.withdrawals)
    @rule(
        pick=st.integers(min_value=0),
        operator=st.sampled_from(OPERATORS),
        with_route=st.booleans(),
    )
    def backoffice_approves_withdrawal(self, pick: int, operator: str, with_route: bool) -> None:
        """Four eyes above SECOND_APPROVAL_OVER: a first approval keeps it waiting,
        the same principal again is refused, another completes it (with the
        first's route, checked again). A route is BackOffice's suggestion."""
        withdrawal = self.withdrawals[pick % len(self.withdrawals)]
        two = withdrawal.amount > SECOND_APPROVAL_OVER
        # An approval checks the first approver's route again, whoever approves.
        rechecked = withdrawal.phase == "review" and withdrawal.first_approver is not None
        route = None
        if with_route and withdrawal.phase == "review" and withdrawal.first_approver is None:
            route = self._suggested_route(withdrawal)
        body: dict[str, Any] = {"payout_reference": f"PAYOUT-{uuid.uuid4().hex[:8]}"}
        if route is not None:
            body["route"] = route
        status, answer = self.backoffice.call(
            "BackOfficeApproveWithdrawalFunction",
            path_id=withdrawal.transaction_id,
            body=body,
            principal=operator,
        )
        if route is not None:
            withdrawal.route = {
                k: Decimal(v) for k, v in route.items() if k != BY_WITHDRAWAL_METHOD
            }
        if rechecked and withdrawal.route and not self._route_fits(withdrawal, withdrawal.route):
            # The first approver's route no longer fits the deposits (one was
            # reversed or routed meanwhile): the second approval is refused.
            assert (status, answer["error"]["code"]) == (422, "payout_route_invalid"), answer
            CashierModel.reached["an approved route no longer fits"] += 1
        elif withdrawal.phase == "review" and two and withdrawal.first_approver is None:
            assert (status, answer["applied"]) == (200, True), answer
            assert answer["transaction"]["awaiting_second_approval"] is True
            withdrawal.first_approver = operator
            CashierModel.reached["first of two approvals"] += 1
        elif withdrawal.phase == "review" and two and withdrawal.first_approver == operator:
            assert (status, answer["error"]["code"]) == (409, "second_approver_required"), answer
            CashierModel.reached["same approver twice"] += 1
        elif withdrawal.phase == "review":
            assert (status, answer["applied"]) == (200, True), answer
            self._pay_out(withdrawal)
            if two:
                CashierModel.reached["second approval"] += 1
        elif withdrawal.phase == "approved":
            assert (status, answer["applied"]) == (200, False), answer
        else:
            assert (status, answer["error"]["code"]) == (409, "invalid_transition"), answer
        self._read_withdrawal(withdrawal)

    @precondition(lambda self: any(d.credited - d.reversed - d.routed > 0 for d in self.deposits))
    @rule(operator=st.sampled_from(OPERATORS))
    def withdrawal_routed_back_to_its_card(self, operator: str) -> None:
        """The return-to-source path in one step: a small withdrawal (one
        approval) approved with BackOffice's suggested route."""
        count = len(self.withdrawals)
        self.request_withdrawal("5.00", with_method=False)
        if len(self.withdrawals) == count:
            return  # not enough on the account
        self.backoffice_approves_withdrawal(count, operator, with_route=True)

    @precondition(lambda self: self.withdrawals)
    @rule(pick=st.integers(min_value=0))
    def customer_cancels_withdrawal(self, pick: int) -> None:
        """Only while it waits (a first approval included); a repeat is applied=false."""
        withdrawal = self.withdrawals[pick % len(self.withdrawals)]
        status, body = self.lifecycle.api.cancel(self.customer_id, withdrawal.transaction_id)
        if withdrawal.phase == "review":
            assert (status, body["applied"]) == (200, True), body
            withdrawal.phase, withdrawal.cancelled_by_customer = "cancelled", True
            self.balance += withdrawal.amount  # the hold goes back, once
            if withdrawal.first_approver is not None:
                CashierModel.reached["customer cancel between approvals"] += 1
        elif withdrawal.cancelled_by_customer:
            assert (status, body["applied"]) == (200, False), body
        else:
            assert (status, body["error"]["code"]) == (409, "invalid_transition"), body
        self._read_withdrawal(withdrawal)

    def _returned_of_route(self, withdrawal: ModelWithdrawal) -> dict[str, Decimal]:
        """Of this withdrawal's shares, what the provider reported returned,
        each deposit's returns counted against the other withdrawals' first."""
        by_id = {d.transaction_id: d for d in self.deposits}
        returned: dict[str, Decimal] = {}
        for deposit_id in withdrawal.route:
            deposit = by_id[deposit_id]
            share = deposit.shares.get(withdrawal.transaction_id, Decimal(0))
            mine = min(share, max(deposit.to_source - (deposit.routed - share), Decimal(0)))
            if mine > 0:
                returned[deposit_id] = mine
        return returned

    @precondition(lambda self: self.withdrawals)
    @rule(
        pick=st.integers(min_value=0),
        action=st.sampled_from(["reject", "payout_failed"]),
    )
    def backoffice_acts_on_withdrawal(self, pick: int, action: str) -> None:
        withdrawal = self.withdrawals[pick % len(self.withdrawals)]
        tid, phase = withdrawal.transaction_id, withdrawal.phase
        if action == "reject":
            status, body = self.backoffice.reject(tid)
            target, sources, release = "cancelled", ("review",), True
        else:
            status, body = self.backoffice.payout_failed(tid)
            target, sources, release = "failed", ("review", "approved"), True
        returned = self._returned_of_route(withdrawal) if phase == "approved" else {}
        if action == "payout_failed" and sum(returned.values()) >= withdrawal.amount:
            # All of it went back to the card: there is no payout left to fail.
            assert (status, body["error"]["code"]) == (409, "payout_returned_to_source"), body
            CashierModel.reached["payout all returned to source: not failed"] += 1
        elif phase in sources:
            assert (status, body["applied"]) == (200, True), body
            withdrawal.phase = target
            if release:
                # The hold goes back, once: all of it, less what a card already got.
                self.balance += withdrawal.amount - sum(returned.values(), Decimal(0))
            by_id = {d.transaction_id: d for d in self.deposits}
            for deposit_id in withdrawal.route if phase == "approved" else ():
                shares = by_id[deposit_id].shares
                if deposit_id in returned:
                    shares[tid] = returned[deposit_id]
                    CashierModel.reached["payout failed, part returned to source kept"] += 1
                else:
                    shares.pop(tid, None)
        elif phase == target:
            assert (status, body["applied"]) == (200, False), body
        else:
            assert (status, body["error"]["code"]) == (409, "invalid_transition"), body
        self._read_withdrawal(withdrawal)

    @precondition(lambda self: self.withdrawals)
    @rule(
        pick=st.integers(min_value=0),
        status=st.sampled_from(WEBHOOK_STATUSES),
        provider=st.sampled_from(["sandbox", "adyen"]),
    )
    def provider_event_names_a_withdrawal(self, pick: int, status: str, provider: str) -> None:
        """A late (or forged-by-mistake) provider event for a withdrawal's id is
        recorded and acknowledged, and changes nothing: status, balance, hold."""
        withdrawal = self.withdrawals[pick % len(self.withdrawals)]
        stored = self.lifecycle.transaction(withdrawal.transaction_id)
        if provider == "adyen":
            code, success = ADYEN_CODES[status]
            minor = int(withdrawal.amount * 100)
            body = self.lifecycle.adyen_body(
                stored.transaction_id, code, success=success, amount=(minor, "USD")
            )
        else:
            body = self.lifecycle.sandbox_body(stored, status, amount=f"{withdrawal.amount:f}")
        names_by_our_id = provider == "sandbox" or status in ("succeeded", "failed")
        if not names_by_our_id:
            # An Adyen modification names a payment only by its pspReference:
            # one naming none of ours is parked (503 for money), never applied.
            assert self._post(provider, body) in (200, 503)
            return
        assert self._post(provider, body) == 200
        CashierModel.reached[f"provider event for a withdrawal in {withdrawal.phase}"] += 1
        recorded = [
            item["outcome"]["S"]
            for item in self.lifecycle.deliveries()
            if item.get("transaction_id", {}).get("S") == stored.transaction_id
        ]
        assert recorded, "the event is recorded, so the provider's retries de-duplicate"
        assert all(outcome.startswith("ignored") for outcome in recorded), recorded

    # --- invariants -------------------------------------------------------------------
    @invariant()
    def limit_counters_are_the_counted_deposits_and_within_the_limit(self) -> None:
        for deposit in self.deposits:
            # A deposit that ended failed or cancelled gave its share back, once.
            if (
                not deposit.released
                and deposit.counted_in
                and deposit.phase in ("failed", "cancelled")
            ):
                CashierModel.reached["deposit limit share given back"] += 1
                deposit.released = True
            # One given back and credited after all (a person credited a late
            # success) counts again: the money came in, whatever the limit says.
            if deposit.released and deposit.phase == "credited":
                CashierModel.reached["deposit limit share counted again"] += 1
                deposit.released, deposit.recounted = False, True
        expected: dict[str, Usage] = {}
        bounded: dict[str, Usage] = {}  # what the limit itself admitted
        for deposit in self.deposits:
            for key in deposit.counted_in:
                if deposit.released:
                    continue
                expected[key] = expected.get(key, Usage()).plus(deposit.amount)
                if not deposit.recounted:
                    bounded[key] = bounded.get(key, Usage()).plus(deposit.amount)
        store = DepositLimitStore(
            self.aws.dynamodb, self.aws.tables.rate_limits, self.aws.tables.transactions
        )
        stored = store.usage(self.customer_id, "USD", expected)
        for key, usage in expected.items():
            assert stored.get(key, Usage()) == usage, (key, stored.get(key), usage)
        for key, usage in bounded.items():
            if key.startswith(f"{Period.DAILY.value}#"):
                assert usage.amount <= (DAILY_LIMIT.amount or 0)
                assert usage.count <= (DAILY_LIMIT.count or 0)

    # Two invariants, each reading what it checks once per step (the ledger; each
    # transaction), so that the run stays as long as it was before withdrawals.
    @invariant()
    def money_is_the_ledger_and_the_model(self) -> None:
        ledger = self.aws.accounts().ledger(self.account_id)
        self.balance_is_the_ledger_and_the_model(ledger)
        self.nothing_is_credited_twice_and_holds_move_once(ledger)

    def _stored_transactions(self) -> dict[str, Transaction]:
        """This example's transactions, read consistently in one call per hundred."""
        ids = [d.transaction_id for d in self.deposits] + [
            w.transaction_id for w in self.withdrawals
        ]
        table = self.aws.tables.transactions
        found: dict[str, Transaction] = {}
        for start in range(0, len(ids), 100):
            keys = [{"transaction_id": {"S": tid}} for tid in ids[start : start + 100]]
            request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.aws.dynamodb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(table, []):
                    found[item["transaction_id"]["S"]] = from_item(Transaction, item)
                request = response.get("UnprocessedKeys") or {}
        return found

    @invariant()
    def every_transaction_is_where_the_model_and_the_table_say(self) -> None:
        transactions = self._stored_transactions()
        assert len(transactions) == len(self.deposits) + len(self.withdrawals)
        for deposit in self.deposits:
            stored = transactions[deposit.transaction_id]
            assert stored.status is PHASE_STATUS[deposit.phase], (deposit, stored.history)
            shares = {k: Decimal(v) for k, v in (stored.payout_returns or {}).items()}
            assert shares == deposit.shares, (deposit, stored.payout_returns)
            assert stored.counted_released is (
                bool(deposit.counted_in) and deposit.phase in ("failed", "cancelled")
            ) or (deposit.released and stored.counted_released)
            _history_follows_the_table(stored)
        for withdrawal in self.withdrawals:
            # Only BackOffice and its customer write a withdrawal: no job, no provider event.
            stored = transactions[withdrawal.transaction_id]
            assert stored == withdrawal.stored
            assert stored.status is PHASE_STATUS[withdrawal.phase]
            _history_follows_the_table(stored)
        for withdrawal in self.withdrawals:
            assert transactions[withdrawal.transaction_id].first_approved_by == (
                withdrawal.first_approver
            )
        if self.swept:  # once the sweeper and the worker ran, nothing waits confirmed
            assert all(deposit.phase != "confirmed" for deposit in self.deposits)

    def balance_is_the_ledger_and_the_model(self, ledger: list[LedgerEntry] | None = None) -> None:
        entries = self.aws.accounts().ledger(self.account_id) if ledger is None else ledger
        stored = self.aws.accounts().get(self.account_id, consistent=True).balance
        assert stored == sum((e.amount for e in entries), Decimal(0))
        assert stored == self.balance

    def nothing_is_credited_twice_and_holds_move_once(
        self, ledger: list[LedgerEntry] | None = None
    ) -> None:
        entries = self.aws.accounts().ledger(self.account_id) if ledger is None else ledger
        kinds = Counter((entry.transaction_id, entry.kind) for entry in entries)
        moved: Counter[tuple[str | None, LedgerKind]] = Counter()
        for entry in entries:
            moved[(entry.transaction_id, entry.kind)] += abs(entry.amount)
        for deposit in self.deposits:
            tid = deposit.transaction_id
            credited, reversed_ = moved[(tid, LedgerKind.CREDIT)], moved[(tid, LedgerKind.REVERSAL)]
            # What the ledger moved for the deposit is what the model says moved.
            assert (credited, reversed_) == (deposit.credited, deposit.reversed), deposit
            # Never more reversed than credited; never more credited than owed.
            assert credited - reversed_ >= 0
            assert credited <= deposit.amount + deposit.reinstated
        for withdrawal in self.withdrawals:
            tid = withdrawal.transaction_id
            assert kinds[(tid, LedgerKind.WITHDRAWAL_HOLD)] == 1
            released = withdrawal.phase in ("cancelled", "failed")
            assert kinds[(tid, LedgerKind.HOLD_RELEASE)] == int(released)
            assert moved[(tid, LedgerKind.HOLD_RELEASE)] <= withdrawal.amount
            assert kinds[(tid, LedgerKind.CREDIT)] == kinds[(tid, LedgerKind.REVERSAL)] == 0


def _history_follows_the_table(transaction: Transaction) -> None:
    statuses = [change.status for change in transaction.history]
    assert statuses[0] is INITIAL_STATUS[transaction.type]
    for source, target in itertools.pairwise(statuses):
        assert can_transition(transaction.type, source, target), (source, target)
    assert transaction.status is statuses[-1]


def _now() -> int:
    return int(time.time())


def model_settings() -> settings:
    """The deep profile's own count; otherwise a CI-sized run."""
    if settings.get_current_profile_name() == "deep":
        return settings()
    return settings(max_examples=20, stateful_step_count=25, deadline=None)


def test_money_invariants_hold_under_any_sequence(lifecycle: Lifecycle) -> None:
    brands = BrandStore(lifecycle.api.aws.dynamodb, lifecycle.api.aws.tables.brands)
    alpha = brands.get("brand-alpha")
    assert alpha is not None
    brands.put(alpha.model_copy(update={"second_approval_over": {"USD": SECOND_APPROVAL_OVER}}))
    CashierModel.examples = 0
    CashierModel.reached.clear()
    run_state_machine_as_test(lambda: CashierModel(lifecycle), settings=model_settings())
    reached = ", ".join(f"{path}: {n}" for path, n in sorted(CashierModel.reached.items()))
    sys.stdout.write(f"\nmodel examples run: {CashierModel.examples}\nreached: {reached}\n")


def test_the_invariants_see_a_double_credit(lifecycle: Lifecycle) -> None:
    """A second credit written with its own ledger entry keeps balance == ledger,
    so only the model and the credit count can see it: they must."""
    machine = CashierModel(lifecycle)
    machine.create_deposit("25.00")
    deposit = machine.deposits[0]
    machine.lifecycle.sandbox_webhook(
        machine.lifecycle.sandbox_body(lifecycle.transaction(deposit.transaction_id), "succeeded")
    )
    model_webhook(deposit, "succeeded", "own")
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
            machine.nothing_is_credited_twice_and_holds_move_once,
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
