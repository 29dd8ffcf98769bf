"""POST /backoffice/deposits/{transaction_id}/retry-credit - re-enqueue a failed credit."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import Operator, retry_failed_credit
from cashier_core.backoffice_schemas import ActionReply, IdPath, ReasonBody
from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()


@app.post(
    "/backoffice/deposits/<transaction_id>/retry-credit",
    summary="Retry a credit_failed deposit once its cause is fixed (re-enqueued)",
    responses=responses(200, ActionReply, 404, 409, 503, unauthenticated=403),
)
def retry_credit(transaction_id: IdPath, body: ReasonBody) -> ActionReply:
    operator = Operator(current_operator_principal(app))
    logger.append_keys(transaction_id=transaction_id)
    return ActionReply.of(
        retry_failed_credit(cashier, queue, operator, transaction_id, reason=body.reason)
    )


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
