"""GET /backoffice/deposits - deposits in manual_review or credit_failed, with provider events."""

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
from cashier_core.backoffice import MAX_EVENTS_PER_DEPOSIT, waiting
from cashier_core.backoffice_schemas import (
    OperatorTransaction,
    ProviderEventReply,
    WaitingDeposit,
    WaitingDepositsQuery,
    WaitingDepositsReply,
)
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry
from cashier_core.statuses import Status, TransactionType

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/backoffice/deposits",
    summary="Deposits in manual_review or credit_failed, with their reason and provider events",
    responses=responses(200, WaitingDepositsReply, 400, unauthenticated=403),
)
def list_deposits(query: Annotated[WaitingDepositsQuery, Query()]) -> WaitingDepositsReply:
    reject_unknown_query(app, WaitingDepositsQuery.model_fields)
    current_operator_principal(app)
    page = waiting(
        cashier,
        transaction_type=TransactionType.DEPOSIT,
        status=Status(query.status),
        brand_id=query.brand_id,
        older_than=timedelta(minutes=query.older_than_minutes),
        limit=query.limit,
        cursor=query.cursor,
    )
    deposits = [
        WaitingDeposit(
            transaction=OperatorTransaction.of(deposit),
            provider_events=[
                ProviderEventReply.of(event)
                for event in cashier.deliveries.of_transaction(
                    deposit.transaction_id, limit=MAX_EVENTS_PER_DEPOSIT
                )
            ],
        )
        for deposit in page.items
    ]
    return WaitingDepositsReply(deposits=deposits, next_cursor=page.next_cursor)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
