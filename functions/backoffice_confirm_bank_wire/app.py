"""POST /backoffice/bank-wire/confirmations - a wire arrived: confirm, or review on a mismatch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import Operator, confirm_bank_wire
from cashier_core.backoffice_schemas import ActionReply, BankWireConfirmationBody
from cashier_core.cashier import Cashier
from cashier_core.credit_queue import CreditQueue
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()


@app.post(
    "/backoffice/bank-wire/confirmations",
    summary="Confirm a bank wire by its reference and the amount received",
    responses=responses(200, ActionReply, 404, 409, 503, unauthenticated=403),
)
def confirm(body: BankWireConfirmationBody) -> ActionReply:
    operator = Operator(current_operator_principal(app))
    result = confirm_bank_wire(
        cashier,
        queue,
        operator,
        reference=body.reference,
        amount=body.amount,
        currency=body.currency,
        reason=body.reason,
    )
    logger.append_keys(transaction_id=result.transaction.transaction_id)
    return ActionReply.of(result)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
