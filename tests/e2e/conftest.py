"""Starts the real local stack (`python -m cashier_local.stack`) once for the e2e tests."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from cashier_local.template import REPO_ROOT
from tests.support.http import Http

READY = "Cashier API ready on "


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    def __init__(
        self, http: Http, resources: dict[str, Any], output: list[str], state_dir: Path
    ) -> None:
        self.http = http
        self.resources = resources
        self.output = output
        self.state_dir = state_dir

    def command_environment(self) -> dict[str, str]:
        """The environment in which `make invoke` and `make redrive` find this stack."""
        return {**os.environ, "CASHIER_STATE_DIR": str(self.state_dir)}

    def token(self, name: str) -> str:
        return next(s["token"] for s in self.resources["sessions"] if s["name"] == name)

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.resources["aws_endpoint"],
            region_name=self.resources["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


class StartedStack:
    """A `python -m cashier_local.stack` process, read until it says it is ready."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        base_url: str,
        output: list[str],
        state_dir: Path | None = None,
    ) -> None:
        self.process = process
        self.base_url = base_url
        self.output = output
        self.state_dir = state_dir

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # stopped by its own pid, as Ctrl-C would
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def launch_stack(
    base_environment: Mapping[str, str], port: int, state_dir: Path | None = None
) -> StartedStack:
    """Start the local stack as a test does: on its own port, with its state in
    its own directory (never the local-state/ of a `make run` that may be up)."""
    state_dir = state_dir or Path(tempfile.mkdtemp(prefix="cashier-e2e-state-"))
    environment = {
        **base_environment,
        "CASHIER_PORT": str(port),
        "CASHIER_STATE_DIR": str(state_dir),
        "CASHIER_SCHEDULE_SECONDS": "2",
        # The suites share Alice across many deposits a minute; the cap itself
        # is proven in tests/integration/functions/test_deposit_velocity.py.
        "CASHIER_PARAMETERS": "DepositsPerCustomerPerMinute=1000",
        "CASHIER_ACCESS_LOG": "0",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    started = start_process([sys.executable, "-m", "cashier_local.stack"], environment)
    started.state_dir = state_dir
    return started


def start_process(command: list[str], environment: Mapping[str, str]) -> StartedStack:
    """Run `command` (the stack, or `make run`) until it prints that it is ready."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, or make
        command,
        cwd=REPO_ROOT,
        env=dict(environment),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 90
    base_url = None
    while base_url is None:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
        except queue.Empty:
            process.kill()
            pytest.fail("the local stack did not become ready:\n" + "".join(output))
        if line.startswith(READY):
            base_url = line.removeprefix(READY).strip()
        if process.poll() is not None and base_url is None:
            pytest.fail("the local stack exited:\n" + "".join(output))
    return StartedStack(process, base_url, output)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    started = launch_stack(os.environ, free_port())
    http = Http(started.base_url)
    try:
        assert started.state_dir is not None
        resources = http.get("/_local/resources").json()
        yield LocalStack(http, resources, started.output, started.state_dir)
    finally:
        started.stop()
