"""The deposit lifecycle through the real handlers: webhook, queue, worker, schedules."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cashier_core.models import Transaction
from cashier_local.events import api_event
from cashier_providers import signing
from tests.support import providers
from tests.support.customer_api import CustomerApi
from tests.support.lambdas import reply


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What Lambda's SQS event source mapping hands the worker."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for message in messages
        ]
    }


@dataclass
class Lifecycle:
    api: CustomerApi

    # --- webhooks ---------------------------------------------------------
    def sandbox_secret(self, brand_id: str = "brand-alpha") -> str:
        return str(self.api.secrets[f"cashier/webhooks/{brand_id}/sandbox"]["webhook_secrets"][0])

    def sandbox_body(self, transaction: Transaction, status: str, **overrides: Any) -> bytes:
        document = {
            "event_id": f"evt_{uuid.uuid4().hex}",
            "transaction_id": transaction.transaction_id,
            "provider_reference": transaction.provider_reference,
            "status": status,
            "amount": f"{transaction.amount:f}",
            "currency": transaction.currency,
            **overrides,
        }
        return json.dumps(document).encode()

    def post_webhook(
        self, provider: str, body: bytes, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, dict[str, Any]]:
        event = api_event(
            method="POST",
            resource="/cashier/webhook/{provider}",
            path=f"/cashier/webhook/{provider}",
            path_parameters={"provider": provider},
            headers=[("Content-Type", "application/json"), *headers],
            body=body,
        )
        response = self.api.raw("ProcessCashierWebhookFunction", event)
        try:
            parsed: Any = json.loads(response["body"])
        except ValueError:
            parsed = response["body"]
        return response["statusCode"], parsed, response

    def sandbox_webhook(
        self,
        body: bytes,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        header: str | None = None,
    ) -> tuple[int, Any]:
        signature = header or signing.sign(
            body, secret or self.sandbox_secret(), timestamp or int(time.time())
        )
        status, parsed, _ = self.post_webhook("sandbox", body, [("X-Sandbox-Signature", signature)])
        return status, parsed

    def adyen_secret(self, brand_id: str = "brand-alpha") -> str:
        return str(self.api.secrets[f"cashier/webhooks/{brand_id}/adyen"]["webhook_secrets"][0])

    def adyen_body(
        self,
        transaction_id: str,
        code: str,
        *,
        success: str = "true",
        amount: tuple[int, str] | None = None,
        psp_reference: str | None = None,
        original_reference: str = "",
    ) -> bytes:
        """One Adyen notification item, signed by Adyen's library; `amount` is
        (minor units, currency), None for an item that carries no amount at all."""
        item = providers.adyen_item(
            code=code,
            merchant_reference=transaction_id,
            psp_reference=psp_reference or f"psp{uuid.uuid4().hex[:16]}",
            amount=amount,
            success=success,
            original_reference=original_reference,
        )
        return providers.adyen_notification(providers.adyen_signed(item, self.adyen_secret()))

    def adyen_webhook(self, body: bytes) -> tuple[int, Any]:
        status, parsed, _ = self.post_webhook("adyen", body, [])
        return status, parsed

    # --- the queue and the worker ------------------------------------------
    @property
    def queue_url(self) -> str:
        return self.api.aws.resources.refs["CreditQueue"]

    def receive(self, max_messages: int = 10) -> list[dict[str, Any]]:
        response = self.api.aws.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, VisibilityTimeout=0
        )
        return list(response.get("Messages", []))

    def run_worker(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        arn = self.api.aws.resources.attributes["CreditQueue.Arn"]
        # The worker reports failed records, even all of them, and never raises.
        result: dict[str, Any] = self.api.raw("CreditWorkerFunction", sqs_event(messages, arn))
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.api.aws.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return result

    def drain(self) -> int:
        """Feed every queued credit message to the worker; how many were handled."""
        handled = 0
        while messages := self.receive():
            self.run_worker(messages)
            handled += len(messages)
        return handled

    def run(self, function_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api.raw(
            function_id, {"source": "aws.events", "detail-type": "Scheduled Event"}
        )
        return result

    # --- state ---------------------------------------------------------------
    def transaction(self, transaction_id: str) -> Transaction:
        return self.api.aws.transactions().get(transaction_id)

    def deposit(self, customer_id: str = "cus-alice", **body: str) -> Transaction:
        request = {
            "account_id": "acc-alice-usd",
            "method_id": "card-sandbox",
            "amount": "25.00",
            "currency": "USD",
            **body,
        }
        status, reply_body = self.api.deposit(customer_id, request)
        assert status == 201, reply_body
        return self.transaction(reply_body["transaction"]["transaction_id"])

    def deliveries(self) -> list[dict[str, Any]]:
        table = self.api.aws.tables.webhook_deliveries
        return list(self.api.aws.dynamodb.scan(TableName=table)["Items"])


__all__ = ["Lifecycle", "reply", "sqs_event"]
