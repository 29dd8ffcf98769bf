"""POST /backoffice/withdrawals/{transaction_id}/payout-failed - failed; the hold is released."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import Operator, fail_payout
from cashier_core.backoffice_schemas import ActionReply, IdPath, ReasonBody
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()


@app.post(
    "/backoffice/withdrawals/<transaction_id>/payout-failed",
    summary="Mark a withdrawal's payout failed (-> failed, hold released)",
    responses=responses(200, ActionReply, 404, 409, unauthenticated=403),
)
def payout_failed(transaction_id: IdPath, body: ReasonBody) -> ActionReply:
    operator = Operator(current_operator_principal(app))
    logger.append_keys(transaction_id=transaction_id)
    return ActionReply.of(fail_payout(cashier, operator, transaction_id, reason=body.reason))


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
