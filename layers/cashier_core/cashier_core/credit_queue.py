"""The credit queue between a confirmed payment and the credit of the account.

A message carries the transaction as it was confirmed. The worker's credit is
pinned to that version, so a stale or duplicated message can never credit
twice; when the message is stale, the refusal brings the current item back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cashier_core.models import Transaction
from cashier_core.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class CreditQueue:
    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    @classmethod
    def from_environment(cls) -> CreditQueue:
        import boto3

        return cls(boto3.client("sqs"), settings().credit_queue_url)

    def enqueue(self, transaction: Transaction) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message_body(transaction))

    def enqueue_many(self, transactions: Iterable[Transaction]) -> int:
        batch: list[Transaction] = []
        sent = 0
        for transaction in transactions:
            batch.append(transaction)
            if len(batch) == 10:
                sent += self._send_batch(batch)
                batch = []
        if batch:
            sent += self._send_batch(batch)
        return sent

    def _send_batch(self, batch: list[Transaction]) -> int:
        response = self._sqs.send_message_batch(
            QueueUrl=self._queue_url,
            Entries=[
                {"Id": str(index), "MessageBody": message_body(transaction)}
                for index, transaction in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            raise RuntimeError(f"{len(response['Failed'])} credit messages were not enqueued")
        return len(response.get("Successful", []))


def message_body(transaction: Transaction) -> str:
    return json.dumps({"transaction": transaction.model_dump(mode="json")})


def read_message(body: str) -> Transaction:
    document: Any = json.loads(body)
    return Transaction.model_validate(document["transaction"])
