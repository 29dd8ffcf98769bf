"""GET /cashier/methods?account_id=…[&direction=withdrawal][&explain=true] - usable methods now."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import (
    create_resolver,
    current_caller,
    handle,
    reject_unknown_query,
    responses,
)
from cashier_core.cashier import Cashier
from cashier_core.deposits import list_methods
from cashier_core.eligibility import Direction
from cashier_core.logs import api_entry
from cashier_core.schemas import MethodsQuery, MethodsReply
from cashier_core.withdrawals import list_withdrawal_methods

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/cashier/methods",
    summary="Payment methods a trading account may use",
    description=(
        "direction=withdrawal lists the methods a withdrawal may name (they pay out),"
        " with their withdrawal limits. With explain=true, also each excluded method of"
        " the brand and why."
    ),
    responses=responses(200, MethodsReply, 404),
)
def get_cashier_methods(query: Annotated[MethodsQuery, Query()]) -> MethodsReply:
    reject_unknown_query(app, MethodsQuery.model_fields)
    customer_id = current_caller(app).customer_id
    if query.direction is Direction.WITHDRAWAL:
        found = list_withdrawal_methods(cashier, customer_id, query.account_id)
    else:
        found = list_methods(cashier, customer_id, query.account_id)
    return MethodsReply.of(found, explain=query.explain)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
