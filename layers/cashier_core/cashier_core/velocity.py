"""Per-customer cap on deposits created per minute.

Every deposit starts a real payment at a provider with the merchant's key, so
one customer token must not be able to create them as fast as it likes. The
WAF's per-token rate rule (template.yaml) bounds requests; this bounds the
deposits themselves, exactly, whatever the concurrency: a deposit that passed
every other check takes one slot of its customer's counter for the current UTC
minute (a conditional ADD, storage/velocity.py) or is refused with
`429 deposit_rate_limited`. A fixed window, so a burst across a minute's edge
can reach twice the cap; that bounds the cost, which is all this is for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from cashier_core.cashier import Cashier
from cashier_core.errors import DepositRateLimited
from cashier_core.settings import DEPOSITS_PER_CUSTOMER_PER_MINUTE, settings
from cashier_core.storage.velocity import counter_id

# template.yaml's DepositsPerCustomerPerMinute default (a test holds them equal).
DEFAULT_DEPOSITS_PER_MINUTE: Final = 10
DEPOSITS_PER_MINUTE_VARIABLE: Final = DEPOSITS_PER_CUSTOMER_PER_MINUTE
WINDOW: Final = timedelta(minutes=1)


def deposits_per_minute() -> int:
    configured = settings().deposits_per_customer_per_minute
    return DEFAULT_DEPOSITS_PER_MINUTE if configured is None else configured


def take_deposit_slot(cashier: Cashier, customer_id: str) -> None:
    """Count one deposit for the customer, or raise DepositRateLimited."""
    now = cashier.clock()
    window_start = now.replace(second=0, microsecond=0)
    if not cashier.rate_limits.take(
        deposit_counter_id(customer_id, window_start),
        limit=deposits_per_minute(),
        window_end=window_start + WINDOW,
    ):
        raise DepositRateLimited()


def deposit_counter_id(customer_id: str, moment: datetime) -> str:
    return counter_id("deposits", customer_id, moment.replace(second=0, microsecond=0))
