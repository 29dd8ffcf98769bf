"""The one guarded status change, against moto with the template's tables."""

from __future__ import annotations

import itertools

import boto3
import pytest
from botocore.stub import Stubber

from cashier_core.errors import RetryableConflict, TransactionNotFound, TransitionRefused
from cashier_core.lifecycle import Move, Outcome
from cashier_core.models import Transaction
from cashier_core.statuses import Status, TransactionType, can_transition
from cashier_core.storage.transactions import TransactionStore
from tests.support import builders
from tests.support.aws import LocalAws


def move_to(target: Status, *sources: Status, set_fields: dict[str, str] | None = None) -> Move:
    return Move(
        Outcome.APPLY,
        note="test",
        target=target,
        sources=frozenset(sources),
        set_fields=set_fields or {},
    )


def change(
    store: TransactionStore, transaction: Transaction, target: Status, **kwargs: object
) -> Transaction:
    """Write target from the transaction's own status, as read."""
    return store.write(
        transaction,
        move_to(target, transaction.status, **kwargs),
        source="test",  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("transaction_type", "source", "target"),
    [
        pair
        for pair in itertools.product(TransactionType, Status, Status)
        if pair[2] is not Status.CREATED  # created is only ever written by a put
    ],
)
def test_dynamodb_condition_admits_exactly_the_tables_pairs(
    aws: LocalAws, transaction_type: TransactionType, source: Status, target: Status
) -> None:
    store = aws.transactions()
    existing = store.create(
        builders.transaction(builders.account(), status=source, type=transaction_type)
    )
    if can_transition(transaction_type, source, target):
        changed = change(store, existing, target)
        assert changed.status is target
        assert store.get(existing.transaction_id) == changed
    else:
        with pytest.raises(ValueError, match="wider than the table"):
            change(store, existing, target)
        assert store.get(existing.transaction_id) == existing


def test_the_condition_refuses_a_move_decided_on_another_status(aws: LocalAws) -> None:
    """Even a move the table allows is refused when the item is not in its source."""
    store = aws.transactions()
    pending = store.create(builders.transaction(builders.account(), status=Status.PENDING_PAYMENT))
    with pytest.raises(TransitionRefused) as refused:
        store.write(pending, move_to(Status.FAILED, Status.CREATED), source="test")
    assert refused.value.current == pending


def test_a_move_decided_on_a_stale_version_is_refused_with_the_current_item(
    aws: LocalAws,
) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    change(store, created, Status.PENDING_PAYMENT)
    with pytest.raises(TransitionRefused) as refused:
        change(store, created, Status.FAILED)  # decided on version 1, the item is at 2
    assert refused.value.current.status is Status.PENDING_PAYMENT


def test_moving_to_created_is_refused_before_any_write(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    with pytest.raises(ValueError, match="created"):
        change(store, created, Status.CREATED)


def test_a_change_appends_history_bumps_version_and_sets_fields(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    pending = store.write(
        created,
        move_to(
            Status.PENDING_PAYMENT,
            Status.CREATED,
            set_fields={"provider_reference": "sbx_1", "redirect_url": "https://pay.example/sbx_1"},
        ),
        source="provider:sandbox",
    )
    assert pending.status is Status.PENDING_PAYMENT
    assert pending.version == 2
    assert pending.provider_reference == "sbx_1"
    assert pending.redirect_url == "https://pay.example/sbx_1"
    assert [change.status for change in pending.history] == [Status.CREATED, Status.PENDING_PAYMENT]
    assert pending.history[-1].source == "provider:sandbox"
    assert pending.updated_at == pending.history[-1].at
    assert store.get(created.transaction_id) == pending
    assert store.find_by_provider_reference("sandbox", "sbx_1") == pending
    assert store.find_by_provider_reference("stripe", "sbx_1") is None


def test_a_refused_change_carries_the_current_item_without_a_second_read(
    aws: LocalAws,
) -> None:
    client = boto3.client("dynamodb")  # own client: the event hook must not outlive the test
    store = TransactionStore(client, aws.tables)
    credited = store.create(builders.transaction(builders.account(), status=Status.CREDITED))
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    with pytest.raises(TransitionRefused) as refused:
        store.write(credited, move_to(Status.REFUNDED, Status.PROVIDER_CONFIRMED), source="test")
    assert refused.value.current == credited
    assert calls == ["TransactWriteItems"]


def test_a_duplicate_change_is_refused_with_the_target_as_current(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    change(store, created, Status.FAILED)
    with pytest.raises(TransitionRefused) as refused:
        change(store, created, Status.FAILED)
    assert refused.value.current.status is Status.FAILED
    assert len(refused.value.current.history) == 2


def test_a_missing_transaction_is_not_found(aws: LocalAws) -> None:
    never_stored = builders.transaction(builders.account())
    with pytest.raises(TransactionNotFound):
        change(aws.transactions(), never_stored, Status.FAILED)


def test_only_provider_fields_can_ride_along_a_status_change(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    for forbidden in ("amount", "customer_id", "status", "version"):
        with pytest.raises(ValueError, match=forbidden):
            store.write(
                created,
                move_to(Status.PENDING_PAYMENT, Status.CREATED, set_fields={forbidden: "1"}),
                source="s",
            )
    assert store.get(created.transaction_id) == created


def test_the_work_queue_index_holds_only_open_work(aws: LocalAws) -> None:
    store = aws.transactions()
    account = builders.account()
    waiting = store.create(builders.transaction(account, status=Status.PENDING_PAYMENT))
    done = store.create(builders.transaction(account, status=Status.PENDING_PAYMENT))
    change(store, done, Status.CANCELLED)
    withdrawal = store.create(
        builders.transaction(account, status=Status.MANUAL_REVIEW, type=TransactionType.WITHDRAWAL)
    )
    approved = change(store, withdrawal, Status.PROVIDER_CONFIRMED)

    pages, deposit = aws.pages(), TransactionType.DEPOSIT
    later = builders.T0.replace(year=2030)
    pending = list(pages.list_work(deposit, Status.PENDING_PAYMENT, updated_before=later))
    assert [t.transaction_id for t in pending] == [waiting.transaction_id]
    assert list(pages.list_work(deposit, Status.PENDING_PAYMENT, updated_before=builders.T0)) == []
    with pytest.raises(ValueError, match="cancelled"):
        list(pages.list_work(deposit, Status.CANCELLED, updated_before=later))
    # An approved withdrawal is no job's work, and never a deposit's.
    assert list(pages.list_work(deposit, Status.PROVIDER_CONFIRMED, updated_before=later)) == []
    with pytest.raises(ValueError, match="provider_confirmed"):
        list(
            pages.list_work(
                TransactionType.WITHDRAWAL, Status.PROVIDER_CONFIRMED, updated_before=later
            )
        )
    assert (
        "work_key"
        not in aws.dynamodb.get_item(
            TableName=aws.tables.transactions,
            Key={"transaction_id": {"S": approved.transaction_id}},
        )["Item"]
    )


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_throttling_is_a_retryable_conflict(aws: LocalAws, code: str) -> None:
    store = aws.transactions()
    stubber = Stubber(aws.dynamodb)
    stubber.add_client_error("transact_write_items", service_error_code=code, http_status_code=400)
    with stubber, pytest.raises(RetryableConflict):
        change(store, builders.transaction(builders.account()), Status.FAILED)
