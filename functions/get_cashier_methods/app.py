"""GET /cashier/methods?account_id=…[&explain=true] - the methods this account may use now."""

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
from cashier_core.logs import api_entry
from cashier_core.schemas import MethodsQuery, MethodsReply

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/cashier/methods",
    summary="Payment methods a trading account may use",
    description="With explain=true, also each excluded method of the brand and why.",
    responses=responses(200, MethodsReply, 404),
)
def get_cashier_methods(query: Annotated[MethodsQuery, Query()]) -> MethodsReply:
    reject_unknown_query(app, MethodsQuery.model_fields)
    found = list_methods(cashier, current_caller(app).customer_id, query.account_id)
    return MethodsReply.of(found, explain=query.explain)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
