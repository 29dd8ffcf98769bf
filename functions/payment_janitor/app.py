"""Scheduled: ask providers about waiting deposits, on a backoff; expire the hopeless."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import CreditQueue
from cashier_core.janitor import interval_from_environment, run_janitor
from cashier_core.logs import invocation_entry

cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()
interval = interval_from_environment()  # only the janitor needs it, at start-up


@invocation_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = run_janitor(cashier, queue, utc_now(), interval)
    return {
        "asked": report.asked,
        "changed": report.changed,
        "parked_resolved": report.parked_resolved,
        "parked_given_up": report.parked_given_up,
    }
