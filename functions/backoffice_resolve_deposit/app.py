"""POST /backoffice/deposits/{transaction_id}/resolve - credit or reject a reviewed deposit."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import Operator, credit_reviewed_deposit, reject_reviewed_deposit
from cashier_core.backoffice_schemas import ActionReply, IdPath, ResolveDepositBody
from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()


@app.post(
    "/backoffice/deposits/<transaction_id>/resolve",
    summary="Resolve a deposit in manual_review: credit it (through the queue) or reject it",
    responses=responses(200, ActionReply, 404, 409, 503, unauthenticated=403),
)
def resolve(transaction_id: IdPath, body: ResolveDepositBody) -> ActionReply:
    operator = Operator(current_operator_principal(app))
    logger.append_keys(transaction_id=transaction_id)
    if body.decision == "credit":
        result = credit_reviewed_deposit(
            cashier, queue, operator, transaction_id, reason=body.reason
        )
    else:
        result = reject_reviewed_deposit(cashier, operator, transaction_id, reason=body.reason)
    return ActionReply.of(result)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
