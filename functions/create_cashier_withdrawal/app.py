"""POST /cashier/withdrawal - hold the funds; BackOffice pays out by hand."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import (
    IDEMPOTENCY_KEY_PATTERN,
    create_resolver,
    current_caller,
    handle,
    json_response,
    responses,
)
from cashier_core.cashier import Cashier
from cashier_core.idempotency import IdempotentRequests, Reply
from cashier_core.logs import api_entry, logger
from cashier_core.schemas import TransactionReply, WithdrawalBody, WithdrawalReply
from cashier_core.settings import settings
from cashier_core.withdrawals import WithdrawalRequest, create_withdrawal

app = create_resolver()
cashier = Cashier.from_environment()
idempotency = IdempotentRequests(cashier.dynamodb, settings().idempotency_table)


@app.post(
    "/cashier/withdrawal",
    summary="Request a withdrawal; the funds are held until BackOffice decides",
    responses=responses(201, WithdrawalReply, 400, 403, 404, 409),
)
def create_cashier_withdrawal(
    body: WithdrawalBody,
    idempotency_key: Annotated[
        str, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN)
    ],
) -> Response[str]:
    caller = current_caller(app)
    request = WithdrawalRequest(
        customer_id=caller.customer_id,
        account_id=body.account_id,
        amount=body.amount,
        currency=body.currency,
        method_id=body.method_id,
        payout_details=body.payout_details,
        idempotency_key=idempotency_key,
    )

    def produce() -> Reply:
        held = create_withdrawal(cashier, request)
        logger.append_keys(transaction_id=held.transaction_id)
        return 201, WithdrawalReply(transaction=TransactionReply.of(held)).model_dump(mode="json")

    status, reply = idempotency.run(
        operation="withdrawal",
        customer_id=caller.customer_id,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
        context=app.lambda_context,
        produce=produce,
    )
    return json_response(status, reply)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
