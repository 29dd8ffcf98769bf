"""GET /backoffice/withdrawals - withdrawals waiting in manual_review, longest-waiting first."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.api import (
    create_resolver,
    current_operator_principal,
    handle,
    reject_unknown_query,
    responses,
)
from cashier_core.backoffice import waiting
from cashier_core.backoffice_schemas import (
    OperatorTransaction,
    WaitingQuery,
    WaitingWithdrawalsReply,
)
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry
from cashier_core.statuses import Status, TransactionType

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/backoffice/withdrawals",
    summary="Withdrawals waiting in manual_review, by brand and age",
    responses=responses(200, WaitingWithdrawalsReply, 400, unauthenticated=403),
)
def list_withdrawals(query: Annotated[WaitingQuery, Query()]) -> WaitingWithdrawalsReply:
    reject_unknown_query(app, WaitingQuery.model_fields)
    current_operator_principal(app)
    page = waiting(
        cashier,
        transaction_type=TransactionType.WITHDRAWAL,
        status=Status.MANUAL_REVIEW,
        brand_id=query.brand_id,
        older_than=timedelta(minutes=query.older_than_minutes),
        limit=query.limit,
        cursor=query.cursor,
    )
    return WaitingWithdrawalsReply(
        withdrawals=[OperatorTransaction.of(t) for t in page.items], next_cursor=page.next_cursor
    )


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
