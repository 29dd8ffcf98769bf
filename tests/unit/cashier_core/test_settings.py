"""Settings: parsed from the environment once, typed, frozen; a missing variable
stops a function's start-up with its name."""

from __future__ import annotations

import ast
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from cashier_core.errors import ConfigurationError
from cashier_core.settings import (
    JANITOR_INTERVAL_MINUTES,
    OPTIONAL_VARIABLES,
    PUBLIC_API_URL,
    REQUIRED_VARIABLES,
    Settings,
    forget_settings,
    read_settings,
    settings,
)
from cashier_local import template
from cashier_local.lambdas import load_function

REPO = template.REPO_ROOT
COMPLETE = {name: f"value-of-{name.lower()}" for name in REQUIRED_VARIABLES} | {
    "LOADED_PROVIDERS": "sandbox, stripe,,bank_wire",
    "STAGE_KIND": "local",
    "ALLOW_SANDBOX_PROVIDER": "false",
    PUBLIC_API_URL: "https://api.example",
    JANITOR_INTERVAL_MINUTES: "2.5",
}


@pytest.mark.parametrize("missing", REQUIRED_VARIABLES)
def test_a_missing_or_empty_required_variable_is_named(missing: str) -> None:
    for environment in (
        {k: v for k, v in COMPLETE.items() if k != missing},
        {**COMPLETE, missing: "  "},
    ):
        with pytest.raises(ConfigurationError, match=f"^{missing} is not set$"):
            read_settings(environment)


def test_values_are_parsed_into_their_types() -> None:
    parsed = read_settings(COMPLETE)
    assert parsed.tables.transactions == "value-of-transactions_table"
    assert parsed.tables.audit == "value-of-audit_table"
    assert parsed.idempotency_table == "value-of-idempotency_table"
    assert parsed.credit_queue_url == "value-of-credit_queue_url"
    assert parsed.cursor_key_secret == "value-of-cursor_key_secret"
    assert parsed.metrics_namespace == "value-of-powertools_metrics_namespace"
    assert parsed.loaded_providers == frozenset({"sandbox", "stripe", "bank_wire"})
    assert parsed.public_api_url == "https://api.example"
    assert parsed.janitor_interval == timedelta(minutes=2, seconds=30)
    assert parsed.require_janitor_interval() == timedelta(minutes=2, seconds=30)


def test_a_deployed_stage_loads_the_sandbox_only_when_the_template_allows_it() -> None:
    deployed = {**COMPLETE, "STAGE_KIND": "deployed"}
    with pytest.raises(ConfigurationError, match="names sandbox on a deployed stage"):
        read_settings(deployed)
    assert not read_settings({**deployed, "ALLOW_SANDBOX_PROVIDER": "true"}).local_stage
    assert not read_settings({**deployed, "LOADED_PROVIDERS": "stripe"}).local_stage
    assert read_settings(COMPLETE).local_stage


@pytest.mark.parametrize(
    ("name", "value"), [("STAGE_KIND", "prod"), ("ALLOW_SANDBOX_PROVIDER", "yes")]
)
def test_stage_kind_and_sandbox_allowance_take_only_their_values(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        read_settings({**COMPLETE, name: value})


def test_optional_variables_may_be_absent_or_empty() -> None:
    for absent in (
        {k: v for k, v in COMPLETE.items() if k not in OPTIONAL_VARIABLES},
        {**COMPLETE, PUBLIC_API_URL: "", JANITOR_INTERVAL_MINUTES: ""},
    ):
        parsed = read_settings(absent)
        assert parsed.public_api_url is None
        assert parsed.janitor_interval is None
        with pytest.raises(ConfigurationError, match=f"^{JANITOR_INTERVAL_MINUTES} is not set$"):
            parsed.require_janitor_interval()


@pytest.mark.parametrize("bad", ["five", "0", "-5", "NaN", "Infinity"])
def test_a_malformed_janitor_interval_is_named(bad: str) -> None:
    with pytest.raises(ConfigurationError, match=JANITOR_INTERVAL_MINUTES):
        read_settings({**COMPLETE, JANITOR_INTERVAL_MINUTES: bad})


def test_settings_are_frozen() -> None:
    parsed = read_settings(COMPLETE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.credit_queue_url = "elsewhere"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.tables.transactions = "elsewhere"  # type: ignore[misc]
    assert isinstance(parsed.loaded_providers, frozenset)


def test_settings_are_read_once_until_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in COMPLETE.items():
        monkeypatch.setenv(name, value)
    first = settings()
    monkeypatch.setenv("CREDIT_QUEUE_URL", "changed")
    assert settings() is first
    forget_settings()
    assert settings().credit_queue_url == "changed"


def test_every_required_variable_is_set_for_every_function_by_the_templates_globals() -> None:
    globals_ = template.load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert set(REQUIRED_VARIABLES) <= set(globals_)
    assert PUBLIC_API_URL in globals_
    janitor = template.functions()["PaymentJanitorFunction"].environment
    assert JANITOR_INTERVAL_MINUTES in janitor


def test_a_function_missing_a_variable_fails_at_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in template.placeholder_environment("CreditWorkerFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRANSACTIONS_TABLE")
    with pytest.raises(ConfigurationError, match="TRANSACTIONS_TABLE is not set"):
        load_function("CreditWorkerFunction")


def test_the_janitor_fails_at_start_up_without_its_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in template.placeholder_environment("PaymentJanitorFunction").items():
        monkeypatch.setenv(name, value)
    assert load_function("PaymentJanitorFunction").interval == timedelta(minutes=5)
    monkeypatch.delenv(JANITOR_INTERVAL_MINUTES)
    with pytest.raises(ConfigurationError, match=f"{JANITOR_INTERVAL_MINUTES} is not set"):
        load_function("PaymentJanitorFunction")


def _reads_the_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "getenv") for alias in node.names)
        ):
            return True
    return False


def test_settings_is_the_only_module_that_reads_the_environment() -> None:
    roots = [REPO / "layers" / "cashier_core", REPO / "providers", REPO / "functions"]
    readers = sorted(
        str(path.relative_to(REPO))
        for root in roots
        for path in root.rglob("*.py")
        if _reads_the_environment(path)
    )
    assert readers == ["layers/cashier_core/cashier_core/settings.py"]
    assert isinstance(read_settings(COMPLETE), Settings)
