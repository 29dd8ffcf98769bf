"""The local stack's commands as a user runs them: bad seeds, and make invoke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cashier_local.seed import DEFAULT_SEED
from cashier_local.template import REPO_ROOT

pytestmark = pytest.mark.e2e


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and modules
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bad_seed_stops_the_stack_at_start_naming_the_field(tmp_path: Path) -> None:
    seed = json.loads(DEFAULT_SEED.read_text())
    seed["accounts"][1]["currency"] = "euro"
    bad = tmp_path / "bad-seed.json"
    bad.write_text(json.dumps(seed))
    result = run("cashier_local.stack", env={"CASHIER_SEED": str(bad), "CASHIER_PORT": "0"})
    assert result.returncode == 2
    assert "data.accounts[1].currency" in result.stderr
    assert "Cashier API ready" not in result.stdout


def test_make_invoke_runs_a_function_on_a_sample_event_without_a_running_stack(
    tmp_path: Path,
) -> None:
    result = run(
        "cashier_local.invoke", "SessionAuthorizerFunction", "events/session_authorizer.json"
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout[result.stdout.index("{") :])
    assert response["principalId"] == "cus-alice"
    assert response["context"] == {"customer_id": "cus-alice", "brand_id": "brand-alpha"}
