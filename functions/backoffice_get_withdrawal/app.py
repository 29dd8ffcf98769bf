"""GET /backoffice/withdrawals/{transaction_id} - one withdrawal, with return to source."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import withdrawal_view
from cashier_core.backoffice_schemas import IdPath, WithdrawalViewReply
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/backoffice/withdrawals/<transaction_id>",
    summary="A withdrawal, its payout details, the deposits and a return-to-source split",
    description=(
        "The account's credited deposits by method and provider (deposited, reversed, already"
        " returned, net), and the suggested split: refund each card or wallet deposit of the"
        " brand's return_to_source_providers, newest first, up to its net; the rest by the"
        " withdrawal's own method."
    ),
    responses=responses(200, WithdrawalViewReply, 404, unauthenticated=403),
)
def get_withdrawal(transaction_id: IdPath) -> WithdrawalViewReply:
    current_operator_principal(app)
    logger.append_keys(transaction_id=transaction_id)
    return WithdrawalViewReply.of(withdrawal_view(cashier, transaction_id))


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
