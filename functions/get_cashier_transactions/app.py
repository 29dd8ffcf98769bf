"""GET /cashier/transactions - the caller's own history, newest first, paged."""

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
from cashier_core.logs import api_entry
from cashier_core.schemas import HistoryQueryParams, HistoryReply, TransactionReply
from cashier_core.statuses import Status
from cashier_core.storage.pages import HistoryQuery

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/cashier/transactions",
    summary="The caller's transactions, newest first",
    responses=responses(200, HistoryReply, 400, 404),
)
def get_cashier_transactions(query: Annotated[HistoryQueryParams, Query()]) -> HistoryReply:
    reject_unknown_query(app, HistoryQueryParams.model_fields)
    caller = current_caller(app)
    if query.account_id is not None:
        # Another customer's account answers exactly as a missing one: 404.
        cashier.accounts.get_for_customer(caller.customer_id, query.account_id)
    history = HistoryQuery(
        customer_id=caller.customer_id,
        account_id=query.account_id,
        type=query.type,
        status=Status(query.status) if query.status is not None else None,
        created_from=query.created_from,
        created_to=query.created_to,
    )
    page = cashier.pages.list_history(
        history, codec=cashier.cursor_codec(), limit=query.limit, cursor=query.cursor
    )
    return HistoryReply(
        transactions=[TransactionReply.of(t) for t in page.items], next_cursor=page.next_cursor
    )


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
