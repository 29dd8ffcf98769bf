"""Metrics as CloudWatch EMF lines on stdout (Powertools Metrics).

Each count is its own EMF document so it can carry its own dimensions (the
refusal reason, the provider) without a handler-wide decorator.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit, single_metric


def count(
    name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str
) -> None:
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Cashier")
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)
