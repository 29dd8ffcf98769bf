"""POST /backoffice/accounts/{account_id}/reconcile - balance against ledger; never rewritten."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice import Operator, reconcile_account
from cashier_core.backoffice_schemas import IdPath, ReconciliationReply
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()


@app.post(
    "/backoffice/accounts/<account_id>/reconcile",
    summary="Recompute an account's balance from its ledger and report any difference",
    responses=responses(200, ReconciliationReply, 404, 409, unauthenticated=403),
)
def reconcile(account_id: IdPath) -> ReconciliationReply:
    operator = Operator(current_operator_principal(app))
    logger.append_keys(account_id=account_id)
    return ReconciliationReply.of(reconcile_account(cashier, operator, account_id))


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
