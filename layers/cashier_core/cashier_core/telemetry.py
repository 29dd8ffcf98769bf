"""Metrics as CloudWatch EMF lines on stdout (Powertools Metrics).

Each count is its own EMF document so it can carry its own dimensions (the
refusal reason, the provider) without a handler-wide decorator. Powertools adds
the `service` dimension (POWERTOOLS_SERVICE_NAME) to every one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from cashier_core.settings import settings

SERVICE_DIMENSION: Final = "service"

# Every metric the code emits: its name -> the dimensions it is counted with,
# besides `service`. CloudWatch only matches a metric on its exact dimension
# set, so template.yaml's alarms and dashboard are checked against this
# registry, and this registry against the code's count() calls
# (tests/unit/test_telemetry.py).
METRICS: Final[Mapping[str, tuple[str, ...]]] = {
    # customer API
    "RequestRefused": ("reason", "route"),
    "DepositCreated": ("provider",),
    "DepositProviderFailed": ("provider", "reason"),
    "WithdrawalRequested": (),
    "WithdrawalCancelled": (),
    # provider webhooks
    "WebhookApplied": ("provider", "status"),
    "WebhookDuplicate": ("provider",),
    "WebhookRejected": ("provider",),
    "WebhookTransitionRefused": ("provider",),
    "WebhookIgnored": ("provider",),
    "WebhookRecorded": ("provider",),
    "WebhookParked": ("provider",),
    "PartialReversalRefused": ("provider",),
    "WebhookAlreadyApplied": ("provider",),
    "WebhookUnresolved": ("provider",),
    "WebhookOutOfScope": ("provider",),
    "NegativeBalance": ("currency",),
    # a provider config its module refused when it was loaded (never used)
    "ProviderConfigRefused": ("provider",),
    # crediting
    "Credited": ("currency",),
    "CreditDuplicateIgnored": (),
    "CreditFailed": ("reason",),
    "ConfirmedToCreditedSeconds": (),
    "SweptToCreditQueue": (),
    # what waits, published by the credit sweeper on its schedule
    "OldestConfirmedAgeSeconds": (),
    "CreditFailedWaiting": (),
    "WithdrawalsWaiting": (),
    "OldestWithdrawalAgeSeconds": (),
    # janitor and BackOffice
    "JanitorMoved": ("status",),
    "BackOfficeAction": ("action",),
    "ReconciliationDifference": ("currency",),
    "DepositLimitCounterDifference": ("currency",),
}


def count(
    name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str
) -> None:
    namespace = settings().metrics_namespace
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def age_seconds(oldest: datetime | None, now: datetime) -> float:
    """How long the oldest waiting item has waited; 0 when nothing waits, so an
    alarm on the age sees a value on every run rather than missing data."""
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
