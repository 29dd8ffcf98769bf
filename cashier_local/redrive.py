"""`make redrive`: move the credit dead-letter queue's messages back to the credit queue.

Run it once the cause of the failed credits is fixed (docs/runbook.md). Every
message is a transaction as it was confirmed; crediting is idempotent, so a
message redriven twice still credits once.

- In AWS (`--dlq-arn`): SQS `StartMessageMoveTask`, which moves the messages
  back to the queue they dead-lettered from, at an optional rate, inside SQS.
- Against the local stack (the default): moto has no StartMessageMoveTask, so
  each message is received, sent to the credit queue, and only then deleted
  from the dead-letter queue. A crash in between leaves a copy in both, never
  in neither.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

MAX_BATCH = 10


@dataclass(frozen=True)
class Redriven:
    moved: int
    failed: int


def redrive_by_resending(sqs: Any, dead_letter_url: str, destination_url: str) -> Redriven:
    """Receive, resend, then delete: at least once, never lost."""
    moved = failed = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=MAX_BATCH, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return Redriven(moved, failed)
        sent = sqs.send_message_batch(
            QueueUrl=destination_url,
            Entries=[
                {"Id": str(index), "MessageBody": message["Body"]}
                for index, message in enumerate(messages)
            ],
        )
        succeeded = {entry["Id"] for entry in sent.get("Successful", [])}
        failed += len(sent.get("Failed", []))
        done = [m for index, m in enumerate(messages) if str(index) in succeeded]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dead_letter_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                    for index, m in enumerate(done)
                ],
            )
        moved += len(done)
        if not done:
            # Nothing could be sent: stop rather than spin; the messages stay put.
            return Redriven(moved, failed)


def start_move_task(sqs: Any, dead_letter_arn: str, max_per_second: int | None) -> str:
    """SQS moves the messages back to their source queue; returns the task handle."""
    request: dict[str, Any] = {"SourceArn": dead_letter_arn}
    if max_per_second:
        request["MaxNumberOfMessagesPerSecond"] = max_per_second
    return str(sqs.start_message_move_task(**request)["TaskHandle"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dlq-arn", help="in AWS: the CreditDeadLetterQueue's ARN")
    parser.add_argument("--max-per-second", type=int, default=None)
    arguments = parser.parse_args(argv)

    import boto3

    if arguments.dlq_arn:
        sqs = boto3.client("sqs")
        handle = start_move_task(sqs, arguments.dlq_arn, arguments.max_per_second)
        print(f"StartMessageMoveTask started: {handle}")
        print("follow it with: aws sqs list-message-move-tasks --source-arn " + arguments.dlq_arn)
        return 0

    from cashier_local.invoke import _running_stack

    state = _running_stack()
    if state is None:
        print(
            "no running local stack: start `make run`, or pass --dlq-arn for AWS", file=sys.stderr
        )
        return 2
    from cashier_local.stack import local_environment

    local_environment(state["aws_endpoint"])  # never a real account by accident
    sqs = boto3.client("sqs")
    queues = state["queues"]
    result = redrive_by_resending(sqs, queues["CreditDeadLetterQueue"], queues["CreditQueue"])
    print(json.dumps({"moved": result.moved, "failed": result.failed}))
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
