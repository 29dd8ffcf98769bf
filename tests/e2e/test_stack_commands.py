"""The local stack's commands as a user runs them: bad seeds, make run beside make test,
make invoke and make redrive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cashier_local.seed import DEFAULT_SEED
from cashier_local.template import REPO_ROOT
from tests.e2e.conftest import free_port, launch_stack, start_process

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


def test_a_test_stack_leaves_the_make_run_stacks_state_for_make_invoke_and_make_redrive(
    tmp_path: Path,
) -> None:
    """`make run`, then a stack started the way the e2e tests start theirs (in the
    same shell environment), then `make invoke` and `make redrive`: both still
    find the `make run` stack, whose state file the test stack never touched."""
    run_state = tmp_path / "local-state"  # stands in for local-state/ of a real `make run`
    shell = {**os.environ, "CASHIER_STATE_DIR": str(run_state), "PYTHONUNBUFFERED": "1"}
    make_run = start_process(
        ["make", "--no-print-directory", "run"],
        {**shell, "CASHIER_PORT": str(free_port()), "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    try:
        state_file = run_state / "stack.json"
        recorded = json.loads(state_file.read_text())
        banner = "".join(make_run.output)
        assert f"kill -INT {recorded['pid']}" in banner
        assert recorded["api_url"] == make_run.base_url

        test_state_dir = tmp_path / "test-state"
        test_stack = launch_stack(shell, free_port(), test_state_dir)
        assert json.loads((test_state_dir / "stack.json").read_text())["pid"] != recorded["pid"]
        assert json.loads(state_file.read_text()) == recorded
        test_stack.stop()
        assert test_stack.process.returncode == 0

        assert json.loads(state_file.read_text()) == recorded
        invoked = run(
            "cashier_local.invoke",
            "SessionAuthorizerFunction",
            "events/session_authorizer.json",
            env={"CASHIER_STATE_DIR": str(run_state)},
        )
        assert invoked.returncode == 0, invoked.stderr
        assert f"using the running local stack's AWS at {recorded['aws_endpoint']}" in (
            invoked.stderr
        )
        redriven = run("cashier_local.redrive", env={"CASHIER_STATE_DIR": str(run_state)})
        assert redriven.returncode == 0, redriven.stderr
        assert json.loads(redriven.stdout) == {"moved": 0, "failed": 0}
    finally:
        os.kill(int(json.loads(state_file.read_text())["pid"]), signal.SIGINT)
        make_run.process.wait(timeout=30)
    assert make_run.process.returncode == 0
    assert not state_file.exists()  # `make run` removes its own state when it stops
