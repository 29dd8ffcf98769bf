"""Starts the real local stack (`python -m cashier_local.stack`) once for the e2e tests."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cashier_local.template import REPO_ROOT
from tests.support.http import Http

READY = "Cashier API ready on "


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    def __init__(self, http: Http, resources: dict[str, Any], output: list[str]) -> None:
        self.http = http
        self.resources = resources
        self.output = output

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


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    port = _free_port()
    environment = {
        **os.environ,
        "CASHIER_PORT": str(port),
        "CASHIER_SCHEDULE_SECONDS": "2",
        # The suites share Alice across many deposits a minute; the cap itself
        # is proven in tests/integration/functions/test_deposit_velocity.py.
        "CASHIER_PARAMETERS": "DepositsPerCustomerPerMinute=1000",
        "CASHIER_ACCESS_LOG": "0",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cashier_local.stack"],
        cwd=REPO_ROOT,
        env=environment,
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
    http = Http(base_url)
    try:
        yield LocalStack(http, http.get("/_local/resources").json(), output)
    finally:
        process.send_signal(signal.SIGINT)  # stopped by its own pid, as Ctrl-C would
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
