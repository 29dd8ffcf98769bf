"""Scheduled: re-enqueue provider_confirmed deposits whose credit message went missing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import CreditQueue
from cashier_core.crediting import sweep_confirmed
from cashier_core.logs import invocation_entry

cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()


@invocation_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"re_enqueued": sweep_confirmed(cashier, queue, utc_now())}
