"""Metrics as CloudWatch EMF lines on stdout (Powertools Metrics).

Each count is its own EMF document so it can carry its own dimensions (the
refusal reason, the provider) without a handler-wide decorator.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from cashier_core.settings import settings


def count(
    name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str
) -> None:
    namespace = settings().metrics_namespace
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)
