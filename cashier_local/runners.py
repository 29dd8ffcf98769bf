"""What AWS runs without a request: the SQS event source mapping and the schedules.

QueuePoller does what Lambda's SQS event source mapping does for a function:
long-poll for up to BatchSize messages, hand them over as one SQS event, delete the
ones that succeeded (all of them unless ReportBatchItemFailures names some),
and leave the rest to reappear after the queue's visibility timeout; the queue
itself (moto) moves a message to its DLQ after maxReceiveCount receives.

Scheduler runs each function with a Schedule event on its template rate;
CASHIER_SCHEDULE_SECONDS shortens every interval, for demos.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from cashier_local import template
from cashier_local.functions import LocalFunctions

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# What Lambda's SQS event source mapping uses: SQS's longest wait.
LONG_POLL_SECONDS = 20


def rate_seconds(expression: str) -> float:
    found = _RATE.match(expression)
    if not found:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueuePoller(threading.Thread):
    def __init__(
        self,
        functions: LocalFunctions,
        function_id: str,
        event_properties: dict[str, Any],
        *,
        sqs: Any,
        refs: dict[str, str],
        attributes: dict[str, str],
        wait_seconds: int = LONG_POLL_SECONDS,
    ) -> None:
        super().__init__(name=f"poller-{function_id}", daemon=True)  # one of several
        self._wait_seconds = wait_seconds
        queue_id = event_properties["Queue"]["Fn::GetAtt"][0]
        self._functions = functions
        self._function_id = function_id
        self._sqs = sqs
        self._queue_url = refs[queue_id]
        self._queue_arn = attributes[f"{queue_id}.Arn"]
        self._batch_size = int(event_properties.get("BatchSize", 10))
        self._partial = "ReportBatchItemFailures" in event_properties.get(
            "FunctionResponseTypes", []
        )
        self._stop = threading.Event()
        self.handled = 0

    def stop(self) -> None:
        self._stop.set()

    def poll_once(self) -> int:
        # Long polls, as the event source mapping's: an idle queue costs one
        # request per wait, not five a second (LocalAwsServer serves the wait
        # without holding its lock).
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self._batch_size, 10),
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._queue_arn, self._sqs.meta.region_name)
        try:
            result = self._functions.invoke(self._function_id, event)
        except BatchProcessingError:
            failed = {m["MessageId"] for m in messages}  # all failed: Lambda returns the batch
        except Exception:  # noqa: BLE001 - a failed invocation leaves every message for retry
            failed = {m["MessageId"] for m in messages}
        else:
            failures = (
                result.get("batchItemFailures", [])
                if self._partial and isinstance(result, dict)
                else []
            )
            failed = {item["itemIdentifier"] for item in failures}
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.handled += len(messages)
        return len(messages)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - keep polling, as the event source mapping does
                # A failed receive returns at once: pause rather than spin.
                self._stop.wait(1)


class Scheduler(threading.Thread):
    def __init__(
        self,
        functions: LocalFunctions,
        refs: dict[str, str],
        override_seconds: float | None = None,
    ) -> None:
        super().__init__(name="scheduler", daemon=True)
        self._functions = functions
        self._stop = threading.Event()
        self.jobs: list[tuple[str, float]] = []
        for spec in template.functions().values():
            for schedule in spec.schedules:
                expression = str(template.resolve(schedule["Schedule"], refs, {}))
                self.jobs.append((spec.logical_id, override_seconds or rate_seconds(expression)))

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        due = {function_id: time.monotonic() + interval for function_id, interval in self.jobs}
        while not self._stop.is_set():
            now = time.monotonic()
            for function_id, interval in self.jobs:
                if now >= due[function_id]:
                    due[function_id] = now + interval
                    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
                    # A failed run is not retried early: the next tick runs it again.
                    with contextlib.suppress(Exception):
                        self._functions.invoke(function_id, event)
            self._stop.wait(0.5)
