"""Scheduled: re-enqueue provider_confirmed deposits whose credit message went
missing, and publish what waits (cashier_core.backlog) for the alarms."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.backlog import publish_backlog
from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import CreditQueue
from cashier_core.crediting import sweep_confirmed
from cashier_core.logs import invocation_entry, logger

cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()


@invocation_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = utc_now()
    re_enqueued = sweep_confirmed(cashier, queue, now)
    logger.info("waiting for a person", extra=publish_backlog(cashier, now))
    return {"re_enqueued": re_enqueued}
