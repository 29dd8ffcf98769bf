"""Every test runs with fake credentials and no route to real AWS, and never
sees or touches the state of a `make run` stack that may be up meanwhile."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from cashier_core.settings import forget_settings

REGION = "eu-west-1"

# `pytest --hypothesis-profile=deep tests/integration/functions/test_lifecycle_model.py`:
# the long form of the model-based test (docs/reliability.md).
settings.register_profile(
    "deep",
    max_examples=2000,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def pytest_configure(config: pytest.Config) -> None:
    # Every stack a test starts, and every `make invoke` it runs, keeps its state
    # here rather than in local-state/ (where `make run` keeps its own).
    os.environ["CASHIER_STATE_DIR"] = tempfile.mkdtemp(prefix="cashier-test-state-")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CashierTest")


@pytest.fixture(autouse=True)
def _settings_parsed_per_test() -> Iterator[None]:
    """Each test's environment is parsed afresh: no settings cached by an earlier
    test (another moto world, another LOADED_PROVIDERS) can leak into it."""
    forget_settings()
    yield
    forget_settings()
