"""The function's settings, parsed from its environment once.

This is the only module of the layer, the providers and the functions that
reads `os.environ`. template.yaml's Globals give every function every variable
below, so each is required: a function whose environment lacks one fails at
start-up (its module calls `settings()` while it loads), with the variable's
name, instead of on some later request. PUBLIC_API_URL may be empty, and only
the janitor has JANITOR_INTERVAL_MINUTES (`require_janitor_interval`).

A plain frozen dataclass, not pydantic: the session authorizer reads its table
name here and keeps pydantic out of its cold start (cashier_core/sessions.py).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from cashier_core.errors import ConfigurationError
from cashier_core.storage.tables import TableNames

TABLE_VARIABLES: Final = {
    "transactions": "TRANSACTIONS_TABLE",
    "accounts": "ACCOUNTS_TABLE",
    "customers": "CUSTOMERS_TABLE",
    "provider_configs": "PROVIDER_CONFIGS_TABLE",
    "sessions": "SESSIONS_TABLE",
    "brands": "BRANDS_TABLE",
    "webhook_deliveries": "WEBHOOK_DELIVERIES_TABLE",
    "audit": "AUDIT_TABLE",
}
IDEMPOTENCY_TABLE: Final = "IDEMPOTENCY_TABLE"
CREDIT_QUEUE_URL: Final = "CREDIT_QUEUE_URL"
CURSOR_KEY_SECRET: Final = "CURSOR_KEY_SECRET"  # noqa: S105 - a variable's name
LOADED_PROVIDERS: Final = "LOADED_PROVIDERS"
# "local" only for the local stack (loopback provider stand-ins are allowed);
# every deployed stage is "deployed".
STAGE_KIND: Final = "STAGE_KIND"
# "true" lets a deployed stage load the sandbox module (template AllowSandboxProvider).
ALLOW_SANDBOX_PROVIDER: Final = "ALLOW_SANDBOX_PROVIDER"
STAGE_KINDS: Final = ("deployed", "local")
METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
PUBLIC_API_URL: Final = "PUBLIC_API_URL"
JANITOR_INTERVAL_MINUTES: Final = "JANITOR_INTERVAL_MINUTES"
# Only the deposit function has these (the per-customer deposit cap, velocity.py).
RATE_LIMITS_TABLE: Final = "RATE_LIMITS_TABLE"
DEPOSITS_PER_CUSTOMER_PER_MINUTE: Final = "DEPOSITS_PER_CUSTOMER_PER_MINUTE"

REQUIRED_VARIABLES: Final = (
    *TABLE_VARIABLES.values(),
    IDEMPOTENCY_TABLE,
    CREDIT_QUEUE_URL,
    CURSOR_KEY_SECRET,
    LOADED_PROVIDERS,
    METRICS_NAMESPACE,
    STAGE_KIND,
    ALLOW_SANDBOX_PROVIDER,
)
OPTIONAL_VARIABLES: Final = (
    PUBLIC_API_URL,
    JANITOR_INTERVAL_MINUTES,
    RATE_LIMITS_TABLE,
    DEPOSITS_PER_CUSTOMER_PER_MINUTE,
)


@dataclass(frozen=True, slots=True)
class Settings:
    tables: TableNames
    idempotency_table: str
    credit_queue_url: str
    # The name of the Secrets Manager secret that signs history cursors.
    cursor_key_secret: str
    # The payment modules this deployment loads; a config of any other never shows.
    loaded_providers: frozenset[str]
    metrics_namespace: str
    # The local stack: provider stand-ins may listen on loopback, and the
    # sandbox module may load. Never true for a deployed stage.
    local_stage: bool = False
    # Public base URL for providers that take a webhook URL per payment; None when unset.
    public_api_url: str | None = None
    # How far apart the janitor's runs are; only the janitor is given it.
    janitor_interval: timedelta | None = None
    # The deposit cap per customer and minute; only the deposit function is given it.
    deposits_per_customer_per_minute: int | None = None

    def require_janitor_interval(self) -> timedelta:
        if self.janitor_interval is None:
            raise ConfigurationError(f"{JANITOR_INTERVAL_MINUTES} is not set")
        return self.janitor_interval


def read_settings(environment: Mapping[str, str]) -> Settings:
    """Parse `environment`; raise ConfigurationError naming the first variable
    that is missing, empty or malformed, or a deployed stage loading the
    sandbox without AllowSandboxProvider."""
    stage_kind = _required(environment, STAGE_KIND)
    if stage_kind not in STAGE_KINDS:
        raise ConfigurationError(f"{STAGE_KIND} is not one of {', '.join(STAGE_KINDS)}")
    allow_sandbox = _required(environment, ALLOW_SANDBOX_PROVIDER)
    if allow_sandbox not in ("true", "false"):
        raise ConfigurationError(f"{ALLOW_SANDBOX_PROVIDER} is not true or false")
    loaded = _names(_required(environment, LOADED_PROVIDERS))
    if "sandbox" in loaded and stage_kind != "local" and allow_sandbox != "true":
        # The sandbox confirms payments nobody made: a deployed stage takes it
        # only when a template parameter (AllowSandboxProvider) says so.
        raise ConfigurationError(
            f"{LOADED_PROVIDERS} names sandbox on a deployed stage without {ALLOW_SANDBOX_PROVIDER}"
        )
    return Settings(
        tables=TableNames(
            **{field: _required(environment, name) for field, name in TABLE_VARIABLES.items()},
            rate_limits=environment.get(RATE_LIMITS_TABLE, "").strip(),
        ),
        idempotency_table=_required(environment, IDEMPOTENCY_TABLE),
        credit_queue_url=_required(environment, CREDIT_QUEUE_URL),
        cursor_key_secret=_required(environment, CURSOR_KEY_SECRET),
        loaded_providers=loaded,
        metrics_namespace=_required(environment, METRICS_NAMESPACE),
        local_stage=stage_kind == "local",
        public_api_url=environment.get(PUBLIC_API_URL, "").strip() or None,
        janitor_interval=_minutes(environment, JANITOR_INTERVAL_MINUTES),
        deposits_per_customer_per_minute=_count(environment, DEPOSITS_PER_CUSTOMER_PER_MINUTE),
    )


@functools.cache
def settings() -> Settings:
    """This container's settings, parsed on the first call."""
    return read_settings(os.environ)


def forget_settings() -> None:
    """Parse again on the next call: for the local runtime and tests, which load
    several functions (or AWS worlds) with different environments in one process.
    In Lambda the environment of a container never changes."""
    settings.cache_clear()


def _required(environment: Mapping[str, str], name: str) -> str:
    value = environment.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


def _names(raw: str) -> frozenset[str]:
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _minutes(environment: Mapping[str, str], name: str) -> timedelta | None:
    raw = environment.get(name, "").strip()
    if not raw:
        return None
    try:
        minutes = float(raw)  # a schedule's interval, not money: a float is exact enough
    except ValueError:
        raise ConfigurationError(f"{name} is not a number of minutes: {raw!r}") from None
    if not math.isfinite(minutes) or minutes <= 0:
        raise ConfigurationError(f"{name} is not a positive number of minutes: {raw!r}")
    return timedelta(minutes=minutes)


def _count(environment: Mapping[str, str], name: str) -> int | None:
    raw = environment.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name} is not a positive whole number: {raw!r}")
    return int(raw)
