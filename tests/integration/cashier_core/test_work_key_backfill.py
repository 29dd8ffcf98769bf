"""Items written before the sharded work index get their work_key, once, and a
status change racing the backfill is never overwritten."""

from __future__ import annotations

import boto3

from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.codec import to_item
from cashier_core.storage.migrations import backfill_work_keys
from tests.support import builders
from tests.support.aws import LocalAws

LATER = builders.T0.replace(year=2030)


def put_legacy(aws: LocalAws, status: Status, type_: TransactionType) -> str:
    """A transaction as the old code stored it: `work_status` and no `work_key`."""
    transaction = builders.transaction(builders.account(), status=status, type=type_)
    item = to_item(transaction, work_status=int(status))
    aws.dynamodb.put_item(TableName=aws.tables.transactions, Item=item)
    return transaction.transaction_id


def stored(aws: LocalAws, transaction_id: str) -> dict:
    return aws.dynamodb.get_item(
        TableName=aws.tables.transactions, Key={"transaction_id": {"S": transaction_id}}
    )["Item"]


def test_legacy_items_are_keyed_and_approved_withdrawals_retired(aws: LocalAws) -> None:
    pending = put_legacy(aws, Status.PENDING_PAYMENT, TransactionType.DEPOSIT)
    waiting = put_legacy(aws, Status.MANUAL_REVIEW, TransactionType.WITHDRAWAL)
    approved = put_legacy(aws, Status.PROVIDER_CONFIRMED, TransactionType.WITHDRAWAL)
    pages = aws.pages()
    assert (
        list(pages.list_work(TransactionType.DEPOSIT, Status.PENDING_PAYMENT, updated_before=LATER))
        == []
    )

    result = backfill_work_keys(aws.dynamodb, aws.tables.transactions)
    assert (result.keyed, result.retired, result.raced) == (2, 1, 0)
    found = pages.list_work(TransactionType.DEPOSIT, Status.PENDING_PAYMENT, updated_before=LATER)
    assert [t.transaction_id for t in found] == [pending]
    found = pages.list_work(TransactionType.WITHDRAWAL, Status.MANUAL_REVIEW, updated_before=LATER)
    assert [t.transaction_id for t in found] == [waiting]
    assert "work_key" not in stored(aws, approved) and "work_status" not in stored(aws, approved)

    again = backfill_work_keys(aws.dynamodb, aws.tables.transactions)
    assert (again.keyed, again.retired, again.raced) == (0, 0, 0)


def test_a_status_change_racing_the_backfill_wins(aws: LocalAws) -> None:
    racing = put_legacy(aws, Status.PENDING_PAYMENT, TransactionType.DEPOSIT)
    client = boto3.client("dynamodb")  # own client: the hook must not outlive the test

    def bump(**_: object) -> None:
        aws.dynamodb.update_item(
            TableName=aws.tables.transactions,
            Key={"transaction_id": {"S": racing}},
            UpdateExpression="SET #v = #v + :one",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    client.meta.events.register("before-call.dynamodb.UpdateItem", bump)
    result = backfill_work_keys(client, aws.tables.transactions)
    assert (result.keyed, result.raced) == (0, 1)
    assert "work_key" not in stored(aws, racing)
