"""telemetry.METRICS is the truth about what the code emits: every count() call
in the layer and the functions names a registered metric with exactly its
registered dimensions, and every registered metric is emitted somewhere."""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from datetime import timedelta

import pytest

from cashier_core import telemetry
from cashier_local import template
from tests.support.builders import T0

SOURCES = sorted(
    [
        *(template.REPO_ROOT / "layers" / "cashier_core" / "cashier_core").rglob("*.py"),
        *(template.REPO_ROOT / "functions").glob("*/app.py"),
    ]
)
# count()'s own parameters; every other keyword is a dimension.
COUNT_PARAMETERS = {"value", "unit"}


def _names(node: ast.expr) -> list[str]:
    """The metric names a count() call's first argument can take."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    raise AssertionError(f"count() with a computed name at line {node.lineno}: name it literally")


def emitted() -> dict[str, set[tuple[str, ...]]]:
    """metric name -> each dimension set a count() call gives it."""
    found: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "count"
            ):
                continue
            assert all(k.arg is not None for k in node.keywords), f"{path}: **dimensions"
            dimensions = tuple(
                sorted(str(k.arg) for k in node.keywords if k.arg not in COUNT_PARAMETERS)
            )
            for name in _names(node.args[0]):
                found[name].add(dimensions)
    return found


def test_the_scan_finds_the_code_s_metrics() -> None:
    # Guards the scan itself: a few calls we know are there.
    found = emitted()
    assert found["WebhookRejected"] == {("provider",)}
    assert found["OldestConfirmedAgeSeconds"] == {()}
    assert found["Credited"] == {("currency",)}


def test_every_emitted_metric_is_registered_with_its_dimensions() -> None:
    for name, dimension_sets in emitted().items():
        assert name in telemetry.METRICS, f"{name} is emitted but not in telemetry.METRICS"
        assert dimension_sets == {tuple(sorted(telemetry.METRICS[name]))}, name


def test_every_registered_metric_is_emitted() -> None:
    assert set(telemetry.METRICS) == set(emitted())


def test_service_is_never_a_metric_s_own_dimension() -> None:
    # Powertools adds it to every metric; a second one would clash.
    assert all(telemetry.SERVICE_DIMENSION not in d for d in telemetry.METRICS.values())


@pytest.mark.parametrize(
    ("oldest", "expected"),
    [(None, 0.0), (T0, 0.0), (T0 - timedelta(minutes=7), 420.0), (T0 + timedelta(seconds=5), 0.0)],
)
def test_age_is_zero_when_nothing_waits_and_never_negative(oldest, expected) -> None:
    assert telemetry.age_seconds(oldest, T0) == expected


def test_count_writes_one_emf_document_with_service_and_its_dimensions(capsys, monkeypatch) -> None:
    from cashier_core.settings import REQUIRED_VARIABLES, forget_settings

    for name in REQUIRED_VARIABLES:  # the namespace comes from the function's settings
        monkeypatch.setenv(name, "CashierTest" if name == "POWERTOOLS_METRICS_NAMESPACE" else "x")
    monkeypatch.setenv("STAGE_KIND", "deployed")
    monkeypatch.setenv("ALLOW_SANDBOX_PROVIDER", "false")
    forget_settings()
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "cashier")
    telemetry.count("WebhookRejected", provider="stripe")
    [line] = capsys.readouterr().out.strip().splitlines()
    document = json.loads(line)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "CashierTest"
    assert directive["Dimensions"] == [["provider", "service"]]
    assert (document["provider"], document["service"]) == ("stripe", "cashier")
