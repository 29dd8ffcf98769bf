"""The one guarded status change, against moto with the template's tables."""

from __future__ import annotations

import itertools

import boto3
import pytest
from botocore.stub import Stubber

from cashier_core.errors import RetryableConflict, TransactionNotFound, TransitionRefused
from cashier_core.statuses import Status, TransactionType, can_transition
from cashier_core.storage.transactions import TransactionStore
from tests.support import builders
from tests.support.aws import LocalAws


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
        changed = store.change_status(existing.transaction_id, target, reason="test", source="test")
        assert changed.status is target
    else:
        with pytest.raises(TransitionRefused) as refused:
            store.change_status(existing.transaction_id, target, reason="test", source="test")
        assert refused.value.current == existing
        assert store.get(existing.transaction_id) == existing


def test_moving_to_created_is_refused_before_any_write(aws: LocalAws) -> None:
    with pytest.raises(ValueError, match="created"):
        aws.transactions().change_status("txn-x", Status.CREATED, reason="r", source="s")


def test_a_change_appends_history_bumps_version_and_sets_fields(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    pending = store.change_status(
        created.transaction_id,
        Status.PENDING_PAYMENT,
        reason="payment created at provider",
        source="provider:sandbox",
        set_fields={"provider_reference": "sbx_1", "redirect_url": "https://pay.example/sbx_1"},
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
        store.change_status(credited.transaction_id, Status.FAILED, reason="late", source="test")
    assert refused.value.current == credited
    assert calls == ["UpdateItem"]


def test_a_duplicate_change_is_refused_with_the_target_as_current(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    store.change_status(created.transaction_id, Status.FAILED, reason="declined", source="test")
    with pytest.raises(TransitionRefused) as refused:
        store.change_status(created.transaction_id, Status.FAILED, reason="again", source="test")
    assert refused.value.current.status is Status.FAILED
    assert len(refused.value.current.history) == 2


def test_a_missing_transaction_is_not_found(aws: LocalAws) -> None:
    with pytest.raises(TransactionNotFound):
        aws.transactions().change_status("txn-nope", Status.FAILED, reason="r", source="s")


def test_only_provider_fields_can_ride_along_a_status_change(aws: LocalAws) -> None:
    store = aws.transactions()
    created = store.create(builders.transaction(builders.account()))
    for forbidden in ("amount", "customer_id", "status", "version"):
        with pytest.raises(ValueError, match=forbidden):
            store.change_status(
                created.transaction_id,
                Status.PENDING_PAYMENT,
                reason="r",
                source="s",
                set_fields={forbidden: "1"},
            )
    assert store.get(created.transaction_id) == created


def test_only_from_narrows_the_allowed_sources(aws: LocalAws) -> None:
    store = aws.transactions()
    pending = store.create(builders.transaction(builders.account(), status=Status.PENDING_PAYMENT))
    with pytest.raises(TransitionRefused):
        store.change_status(
            pending.transaction_id,
            Status.FAILED,
            reason="r",
            source="s",
            only_from=frozenset({Status.CREATED}),
        )


def test_the_work_queue_index_holds_only_open_work(aws: LocalAws) -> None:
    store = aws.transactions()
    account = builders.account()
    waiting = store.create(builders.transaction(account, status=Status.PENDING_PAYMENT))
    done = store.create(builders.transaction(account, status=Status.PENDING_PAYMENT))
    store.change_status(done.transaction_id, Status.CANCELLED, reason="expired", source="test")

    later = builders.T0.replace(year=2030)
    pending = list(store.list_in_work_status(Status.PENDING_PAYMENT, updated_before=later))
    assert [t.transaction_id for t in pending] == [waiting.transaction_id]
    assert list(store.list_in_work_status(Status.PENDING_PAYMENT, updated_before=builders.T0)) == []
    with pytest.raises(ValueError, match="cancelled"):
        list(store.list_in_work_status(Status.CANCELLED, updated_before=later))


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_throttling_is_a_retryable_conflict(aws: LocalAws, code: str) -> None:
    store = aws.transactions()
    stubber = Stubber(aws.dynamodb)
    stubber.add_client_error("update_item", service_error_code=code, http_status_code=400)
    with stubber, pytest.raises(RetryableConflict):
        store.change_status("txn-any", Status.FAILED, reason="r", source="s")
