"""`make redrive`: dead-lettered credit messages go back to the credit queue and
credit once; in AWS the command asks SQS for a StartMessageMoveTask."""

from __future__ import annotations

from decimal import Decimal

import boto3
from botocore.stub import Stubber

from cashier_core.credit_queue import message_body
from cashier_core.statuses import Status
from cashier_local.redrive import redrive_by_resending, start_move_task
from tests.support.lifecycle import Lifecycle


def test_dead_letters_are_resent_then_deleted_and_credit_once(lifecycle: Lifecycle) -> None:
    aws = lifecycle.api.aws
    deposit = lifecycle.deposit()
    assert lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))[0] == 200
    lifecycle.receive()  # the webhook's own message: lost to the test, as if it dead-lettered
    aws.sqs.purge_queue(QueueUrl=lifecycle.queue_url)
    confirmed = lifecycle.transaction(deposit.transaction_id)
    dead_letters = aws.resources.refs["CreditDeadLetterQueue"]
    for _ in range(2):  # the same message dead-lettered twice
        aws.sqs.send_message(QueueUrl=dead_letters, MessageBody=message_body(confirmed))

    result = redrive_by_resending(aws.sqs, dead_letters, lifecycle.queue_url)

    assert (result.moved, result.failed) == (2, 0)
    left = aws.sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10)
    assert left.get("Messages", []) == []
    assert lifecycle.drain() == 2
    assert lifecycle.transaction(deposit.transaction_id).status is Status.CREDITED
    assert aws.accounts().get("acc-alice-usd").balance == Decimal("125.00")


def test_an_empty_dead_letter_queue_moves_nothing(lifecycle: Lifecycle) -> None:
    aws = lifecycle.api.aws
    result = redrive_by_resending(
        aws.sqs, aws.resources.refs["CreditDeadLetterQueue"], lifecycle.queue_url
    )
    assert (result.moved, result.failed) == (0, 0)


def test_in_aws_the_command_starts_a_message_move_task_back_to_the_source() -> None:
    # moto has no StartMessageMoveTask: the request's shape is pinned with a Stubber.
    sqs = boto3.client("sqs", region_name="eu-west-1")
    arn = "arn:aws:sqs:eu-west-1:123456789012:cashier-CreditDeadLetterQueue"
    with Stubber(sqs) as stub:
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {"SourceArn": arn, "MaxNumberOfMessagesPerSecond": 5},
        )
        assert start_move_task(sqs, arn, 5) == "handle-1"
        stub.assert_no_pending_responses()
