"""POST /backoffice/customers/{customer_id}/deposit-limits/reconcile - a customer's
deposit-limit counters against their deposits; never rewritten."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import create_resolver, current_operator_principal, handle, responses
from cashier_core.backoffice_schemas import IdPath
from cashier_core.cashier import Cashier
from cashier_core.limit_reconciliation import (
    DepositLimitReconciliationReply,
    reconcile_deposit_limits,
)
from cashier_core.logs import api_entry, logger

app = create_resolver()
cashier = Cashier.from_environment()


@app.post(
    "/backoffice/customers/<customer_id>/deposit-limits/reconcile",
    summary="Show a customer's deposit-limit counters, recomputed from their deposits",
    description="Every counter with what it holds, what the deposits say it should "
    "hold and the difference; nothing is rewritten.",
    responses=responses(200, DepositLimitReconciliationReply, 404, 409, unauthenticated=403),
)
def reconcile(customer_id: IdPath) -> DepositLimitReconciliationReply:
    principal = current_operator_principal(app)
    logger.append_keys(customer_id=customer_id)
    checks = reconcile_deposit_limits(cashier, principal, customer_id)
    return DepositLimitReconciliationReply.of(customer_id, checks)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
