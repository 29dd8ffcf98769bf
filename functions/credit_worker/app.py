"""Credit worker: SQS credit messages -> one credit each, with partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import MalformedCreditMessage, read_message
from cashier_core.crediting import credit
from cashier_core.errors import TransactionNotFound
from cashier_core.logs import invocation_entry, logger

# A batch whose every record fails is answered as item failures, not raised:
# a poison message must never crash the handler (SQS redrives it to the DLQ).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
cashier = Cashier.from_environment()


def record_handler(record: SQSRecord) -> str:
    # What cannot be credited fails alone, and after maxReceiveCount it rests
    # in the DLQ where the alarm shows it to a person. Each record's lines carry
    # its own message id, never the previous record's keys.
    logger.remove_keys(["transaction_id"])
    logger.set_correlation_id(record.message_id)
    try:
        transaction_id = read_message(record.body)
    except MalformedCreditMessage as malformed:
        logger.error(
            "not a credit message", extra={"message_id": record.message_id, "why": str(malformed)}
        )
        raise
    logger.append_keys(transaction_id=transaction_id)
    try:
        return credit(cashier, transaction_id, utc_now()).value
    except TransactionNotFound:
        logger.error("credit message names no transaction", extra={"message_id": record.message_id})
        raise


@invocation_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
