"""The local AWS serves SQS long polls (as Lambda's event source mapping makes
them) without holding the lock that serializes every other call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cashier_local.moto_server import LocalAwsServer


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    server = LocalAwsServer()
    endpoint = server.start()
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-west-1"
    )
    clients = {
        "sqs": session.client("sqs", endpoint_url=endpoint),
        "dynamodb": session.client("dynamodb", endpoint_url=endpoint),
    }
    try:
        yield clients
    finally:
        server.stop()


def long_poll(sqs: Any, queue_url: str, wait: int, into: list[Any]) -> threading.Thread:
    def poll() -> None:
        started = time.monotonic()
        answer = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=wait)
        into.append((time.monotonic() - started, answer.get("Messages", [])))

    thread = threading.Thread(target=poll)
    thread.start()
    return thread


def test_a_long_poll_returns_a_message_sent_while_it_waits_and_blocks_nobody(
    aws: dict[str, Any],
) -> None:
    sqs = aws["sqs"]
    queue_url = sqs.create_queue(QueueName="credits")["QueueUrl"]
    received: list[Any] = []
    thread = long_poll(sqs, queue_url, 10, received)
    time.sleep(0.5)

    started = time.monotonic()
    aws["dynamodb"].list_tables()  # would wait out the poll if it held the lock
    assert time.monotonic() - started < 2
    sqs.send_message(QueueUrl=queue_url, MessageBody="credit me")
    thread.join(timeout=5)

    assert not thread.is_alive()
    took, messages = received[0]
    assert [m["Body"] for m in messages] == ["credit me"]
    assert took < 5


def test_an_empty_long_poll_waits_its_time_then_answers_empty(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    queue_url = sqs.create_queue(QueueName="idle")["QueueUrl"]
    received: list[Any] = []
    long_poll(sqs, queue_url, 2, received).join(timeout=10)
    took, messages = received[0]
    assert messages == []
    assert 1.9 <= took < 4


def test_a_message_whose_visibility_timeout_ends_reaches_a_waiting_poll(
    aws: dict[str, Any],
) -> None:
    sqs = aws["sqs"]
    queue_url = sqs.create_queue(QueueName="retry")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1)["Messages"]
    assert len(first) == 1
    received: list[Any] = []
    long_poll(sqs, queue_url, 10, received).join(timeout=15)
    took, messages = received[0]
    assert [m["Body"] for m in messages] == ["again"]
    assert took < 4
