"""The credit queue between a confirmed payment and the credit of the account.

A message names a transaction and nothing else: no amount, account or payout
details. The worker reads the stored transaction (a consistent read) and the
credit's write pins the money it moves, so a message that is forged, edited in
the DLQ, stale or duplicated can never choose what is credited, or credit twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

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


MESSAGE_VERSION: Final = 2
MAX_ID_LENGTH: Final = 128


class MalformedCreditMessage(ValueError):
    """A body that is not one of our credit messages."""


def message_body(transaction: Transaction) -> str:
    return json.dumps({"v": MESSAGE_VERSION, "transaction_id": transaction.transaction_id})


def read_message(body: str) -> str:
    """The transaction id a credit message names. Version 1 messages (still in a
    queue or DLQ at deploy) carried the whole transaction: only its id is taken."""
    try:
        document: Any = json.loads(body)
    except (ValueError, TypeError):
        raise MalformedCreditMessage("not JSON") from None
    if not isinstance(document, dict):
        raise MalformedCreditMessage("not a JSON object")
    if document.get("v") == MESSAGE_VERSION:
        transaction_id = document.get("transaction_id")
    elif "v" not in document and isinstance(document.get("transaction"), dict):
        transaction_id = document["transaction"].get("transaction_id")
    else:
        raise MalformedCreditMessage("unknown message version")
    if not isinstance(transaction_id, str) or not 0 < len(transaction_id) <= MAX_ID_LENGTH:
        raise MalformedCreditMessage("no transaction id")
    return transaction_id
