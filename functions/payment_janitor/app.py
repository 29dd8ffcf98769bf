"""Scheduled: ask providers about waiting deposits, on a backoff; expire the hopeless."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import CreditQueue
from cashier_core.janitor import interval_from_environment, logger, run_janitor

cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = run_janitor(cashier, queue, utc_now(), interval_from_environment())
    return {"asked": report.asked, "changed": report.changed}
