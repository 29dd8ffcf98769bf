"""GET /backoffice/provider-events/parked - verified provider events that named no transaction."""

from __future__ import annotations

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
from cashier_core.backoffice_schemas import ParkedEventReply, ParkedEventsQuery, ParkedEventsReply
from cashier_core.cashier import Cashier
from cashier_core.logs import api_entry

app = create_resolver()
cashier = Cashier.from_environment()


@app.get(
    "/backoffice/provider-events/parked",
    summary="Provider events that named no transaction of ours: unresolved (default) or open",
    responses=responses(200, ParkedEventsReply, 400, unauthenticated=403),
)
def list_parked_events(query: Annotated[ParkedEventsQuery, Query()]) -> ParkedEventsReply:
    reject_unknown_query(app, ParkedEventsQuery.model_fields)
    current_operator_principal(app)
    parked = cashier.parked.in_state(query.state)
    return ParkedEventsReply(events=[ParkedEventReply.of(event) for event in parked])


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
