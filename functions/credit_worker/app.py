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
from cashier_core.credit_queue import read_message
from cashier_core.crediting import credit
from cashier_core.logs import invocation_entry, logger

processor = BatchProcessor(event_type=EventType.SQS)
cashier = Cashier.from_environment()


def record_handler(record: SQSRecord) -> str:
    # A message that cannot be read raises: it fails alone, and after
    # maxReceiveCount it rests in the DLQ where the alarm shows it.
    # Each record's lines carry its own message id, never the previous record's keys.
    logger.remove_keys(["transaction_id"])
    logger.set_correlation_id(record.message_id)
    transaction = read_message(record.body)
    logger.append_keys(transaction_id=transaction.transaction_id)
    return credit(cashier, transaction, utc_now()).value


@invocation_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
