"""Every log line carries a correlation id: the API request id, the SQS message
id of the record being credited, the invocation's request id for the rest."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cashier_core.logs import logger
from cashier_local.events import api_event, authorizer_context
from cashier_local.lambdas import LambdaContext
from tests.support.lifecycle import Lifecycle

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """What the one Powertools Logger writes to stdout, one JSON document a line."""
    handler = logger.registered_handler
    assert hasattr(handler, "setStream")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


def test_an_api_functions_lines_carry_the_api_gateway_request_id(
    lifecycle: Lifecycle, log_lines: LogLines
) -> None:
    event = api_event(
        method="GET",
        resource="/cashier/methods",
        path="/cashier/methods",
        query=[("account_id", "acc-mallory-usd")],  # another customer's: refused, and logged
        authorizer=authorizer_context("cus-alice", "brand-alpha"),
    )
    response = lifecycle.api.raw("GetCashierMethodsFunction", event)
    assert response["statusCode"] == 404
    lines = log_lines()
    assert [line["message"] for line in lines] == ["request refused"]
    assert {line["correlation_id"] for line in lines} == {event["requestContext"]["requestId"]}


def test_each_credited_records_lines_carry_its_own_sqs_message_id(
    lifecycle: Lifecycle, log_lines: LogLines
) -> None:
    deposits = [lifecycle.deposit(amount=amount) for amount in ("25.00", "30.00")]
    for deposit in deposits:
        lifecycle.sandbox_webhook(lifecycle.sandbox_body(deposit, "succeeded"))
    messages = lifecycle.receive()
    assert len(messages) == 2
    sent_for = {
        json.loads(message["Body"])["transaction_id"]: message["MessageId"] for message in messages
    }
    before = len(log_lines())

    lifecycle.run_worker(messages)

    credited = [line for line in log_lines()[before:] if line["message"] == "credited"]
    assert len(credited) == 2
    for line in credited:
        assert line["correlation_id"] == sent_for[line["transaction_id"]]


def test_a_scheduled_functions_lines_carry_the_invocations_request_id(
    lifecycle: Lifecycle, log_lines: LogLines
) -> None:
    function_id = "PaymentJanitorFunction"  # it logs every run
    module = lifecycle.api.module(function_id)
    before = len(log_lines())
    context = LambdaContext(function_name=function_id, aws_request_id="req-scheduled-0001")
    module.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, context)
    lines = log_lines()[before:]
    assert lines, "the run logged nothing"
    assert {line["correlation_id"] for line in lines} == {"req-scheduled-0001"}
    assert {line["function_request_id"] for line in lines} == {"req-scheduled-0001"}


def test_the_authorizers_lines_carry_the_invocations_request_id(
    lifecycle: Lifecycle, log_lines: LogLines
) -> None:
    authorizer = lifecycle.api.module("SessionAuthorizerFunction")
    context = LambdaContext(function_name="SessionAuthorizerFunction", aws_request_id="req-auth-1")
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer.lambda_handler({"type": "TOKEN", "authorizationToken": "nope"}, context)
    [line] = log_lines()
    assert (line["message"], line["correlation_id"]) == ("session refused", "req-auth-1")
