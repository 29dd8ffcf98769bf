"""POST /cashier/deposit - record the deposit, then start the provider payment."""

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
from cashier_core.deposits import DepositRequest, create_deposit
from cashier_core.idempotency import IdempotentRequests, Reply
from cashier_core.logs import api_entry, logger
from cashier_core.schemas import DepositBody, DepositReply, TransactionReply
from cashier_core.settings import settings

app = create_resolver()
cashier = Cashier.from_environment()
idempotency = IdempotentRequests(cashier.dynamodb, settings().idempotency_table)
WEBHOOK_BASE_URL = settings().public_api_url


@app.post(
    "/cashier/deposit",
    summary="Create a deposit and get the provider's redirect",
    responses=responses(201, DepositReply, 400, 403, 404, 409, 429, 502),
)
def create_cashier_deposit(
    body: DepositBody,
    idempotency_key: Annotated[
        str, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN)
    ],
) -> Response[str]:
    caller = current_caller(app)
    request = DepositRequest(
        customer_id=caller.customer_id,
        account_id=body.account_id,
        method_id=body.method_id,
        amount=body.amount,
        currency=body.currency,
        return_url=body.return_url,
        idempotency_key=idempotency_key,
    )

    def produce() -> Reply:
        result = create_deposit(cashier, request, webhook_base_url=WEBHOOK_BASE_URL)
        transaction = TransactionReply.of(result.transaction).model_dump(mode="json")
        logger.append_keys(transaction_id=result.transaction.transaction_id)
        if result.provider_error is not None:
            error = result.provider_error
            return error.http_status, {
                "error": {"code": error.code, "message": error.message},
                "transaction": transaction,
            }
        reply = DepositReply(
            transaction=TransactionReply.of(result.transaction),
            redirect_url=result.transaction.redirect_url,
            instructions=result.transaction.instructions,
        )
        return 201, reply.model_dump(mode="json")

    status, reply = idempotency.run(
        operation="deposit",
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
