"""POST /cashier/withdrawal/{transaction_id}/cancel - the customer takes back a waiting one."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_caller, handle, responses
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry, logger
from cashier_core.schemas import CancelWithdrawalBody, CancelWithdrawalReply, TransactionReply
from cashier_core.withdrawals import cancel_withdrawal

app = create_resolver()
cashier = Cashier.from_environment()

# Checked before any DynamoDB key is built from it.
TransactionIdPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
]


@app.post(
    "/cashier/withdrawal/<transaction_id>/cancel",
    summary="Cancel a withdrawal still waiting for processing; the held funds come back",
    description=(
        "Allowed until BackOffice approves it (for a two-step approval, until the second"
        " approval). A repeat answers 200 with applied=false."
    ),
    responses=responses(200, CancelWithdrawalReply, 400, 403, 404, 409),
)
def cancel_cashier_withdrawal(
    transaction_id: TransactionIdPath,
    body: Annotated[CancelWithdrawalBody | None, Body()] = None,
) -> CancelWithdrawalReply:
    caller = current_caller(app)
    logger.append_keys(transaction_id=transaction_id)
    result = cancel_withdrawal(cashier, caller.customer_id, transaction_id)
    return CancelWithdrawalReply(
        transaction=TransactionReply.of(result.transaction), applied=result.applied
    )


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
