"""POST /backoffice/withdrawals/{transaction_id}/approve - paid out; the hold stays debited."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import Operator, approve_withdrawal
from cashier_core.backoffice_schemas import ActionReply, ApproveWithdrawalBody, IdPath
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()


@app.post(
    "/backoffice/withdrawals/<transaction_id>/approve",
    summary="Approve a held withdrawal for payout (manual_review -> provider_confirmed)",
    description=(
        "Above the brand's second_approval_over for the currency, the first approval is"
        " recorded and the withdrawal keeps waiting (awaiting_second_approval); a different"
        " principal completes it (with the first approver's route: another route is 409"
        " route_not_approved), the same one gets 409 second_approver_required. `route` records"
        " the return-to-source split chosen (GET /backoffice/withdrawals/{id} suggests one);"
        " a route that does not fit is 422 payout_route_invalid. The approval that pays out"
        " needs a payout_reference, its own or the first approver's (else 422"
        " payout_reference_required)."
    ),
    responses=responses(200, ActionReply, 404, 409, 422, unauthenticated=403),
)
def approve(transaction_id: IdPath, body: ApproveWithdrawalBody) -> ActionReply:
    operator = Operator(current_operator_principal(app))
    logger.append_keys(transaction_id=transaction_id)
    result = approve_withdrawal(
        cashier,
        operator,
        transaction_id,
        payout_reference=body.payout_reference,
        note=body.note,
        route=body.route,
    )
    return ActionReply.of(result)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
