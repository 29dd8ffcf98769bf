"""`make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json`: like `sam local invoke`.

Runs one function's real handler on one event and prints its response. It uses
the local AWS of a running `make run` (found through local-state/stack.json, or
CASHIER_STATE_DIR's, and checked to be alive); otherwise it starts a local AWS with the template's
resources and the default seed for this one call, and stops it afterwards.
Webhook events are signed again with that stack's secret for the provider,
because the committed samples carry an example signature that verifies nowhere.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from cashier_local.stack import REGION, local_environment, state_file


def _running_stack() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(state_file().read_text())
        os.kill(int(state["pid"]), 0)
        with urllib.request.urlopen(f"{state['api_url']}/_local/resources", timeout=2) as response:  # noqa: S310
            return state if response.status == 200 else None
    except (OSError, ValueError, KeyError):
        return None


def _webhook_secret(
    event: dict[str, Any], provider_secrets: dict[str, dict[str, Any]]
) -> str | None:
    provider = (event.get("pathParameters") or {}).get("provider")
    for name, document in sorted(provider_secrets.items()):
        if name.endswith(f"/{provider}") and document.get("webhook_secrets"):
            return str(document["webhook_secrets"][0])
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(
            "usage: python -m cashier_local.invoke <FunctionLogicalId> <event.json>",
            file=sys.stderr,
        )
        return 2
    function_id, event_path = argv
    from cashier_local import template

    if function_id not in template.functions():
        print(
            f"no function {function_id}; template.yaml has: "
            + ", ".join(sorted(template.functions())),
            file=sys.stderr,
        )
        return 2
    event = json.loads(Path(event_path).read_text())

    stoppers: list[Any] = []
    state = _running_stack()
    if state is not None:
        local_environment(state["aws_endpoint"])
        provider_secrets = state["provider_secrets"]
        print(f"using the running local stack's AWS at {state['aws_endpoint']}", file=sys.stderr)
        environment = _environment_of(function_id, state)
    else:
        from cashier_local.stack import start

        stack, stoppers = start(port=_free_port())
        provider_secrets = stack.secrets
        environment = stack.resources.environment(function_id)
        print(f"started a local AWS at {stack.aws_endpoint} for this call", file=sys.stderr)
    os.environ.update(environment)

    if event.get("pathParameters", {}) and event.get("resource") == "/cashier/webhook/{provider}":
        secret = _webhook_secret(event, provider_secrets)
        if secret:
            from cashier_local.webhook_events import resign

            event = resign(event, secret)
            print("signed the webhook event again with this stack's secret", file=sys.stderr)

    from cashier_local.lambdas import invoke, load_function

    try:
        response = invoke(load_function(function_id), event, function_id)
    finally:
        for stop in stoppers:
            stop()
    print(json.dumps(response, indent=2, default=str))
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment_of(function_id: str, state: dict[str, Any]) -> dict[str, str]:
    """The function's environment as the running stack set it up."""
    environment: dict[str, str] = state["environment"][function_id]
    return {**environment, "AWS_DEFAULT_REGION": REGION}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
