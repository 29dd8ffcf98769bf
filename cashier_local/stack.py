"""`make run`: the whole cashier on one machine, with no AWS account and no Docker.

1. starts moto's server on 127.0.0.1 (serialized) and points every AWS client at it;
2. creates every table, queue and secret from template.yaml's own definitions;
3. loads the seed (CASHIER_SEED, default cashier_local/seeds/default.json);
4. serves the API on http://127.0.0.1:3000 (CASHIER_PORT) through the template's
   routes and authorizer, runs the credit queue's poller and the schedules
   (CASHIER_SCHEDULE_SECONDS shortens them), and serves the sandbox's page;
5. stays in the foreground until Ctrl-C (or `kill -INT <pid>`, the pid the
   banner prints), then stops everything it started.

Its state (endpoints, sessions, pid) goes to local-state/stack.json, where
`make invoke` and `make redrive` find it; CASHIER_STATE_DIR puts it elsewhere,
which the tests do, so a test stack never touches the one `make run` started.

The gateway answers only requests addressed to itself (Host 127.0.0.1:<port>
or localhost:<port>): any page in the developer's browser can reach loopback,
and a DNS-rebinding one would otherwise read /_local/resources (secrets,
session tokens) or send the development operator header.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR: Final = REPO_ROOT / "local-state"
DEV_PRINCIPAL_EXAMPLE: Final = (
    "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/you"
)
REGION: Final = "eu-west-1"


def state_file() -> Path:
    """Where a running stack records itself: local-state/ unless CASHIER_STATE_DIR says."""
    directory = os.environ.get("CASHIER_STATE_DIR")
    return (Path(directory) if directory else DEFAULT_STATE_DIR) / "stack.json"


def local_environment(aws_endpoint: str) -> None:
    """Fake credentials and the local endpoint, whatever the shell had: the local
    stack can never reach a real AWS account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


def parameter_overrides(declared: dict[str, Any]) -> dict[str, str]:
    """CASHIER_PARAMETERS="Name=value,...": template parameters for this stack,
    as `sam deploy --parameter-overrides` sets them in AWS."""
    overrides = dict(
        pair.split("=", 1) for pair in os.environ.get("CASHIER_PARAMETERS", "").split(",") if pair
    )
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise SystemExit(f"CASHIER_PARAMETERS: template.yaml has no parameter {', '.join(unknown)}")
    return overrides


@dataclass
class Stack:
    api_url: str
    aws_endpoint: str
    resources: Any
    secrets: dict[str, dict[str, Any]]
    sessions: list[dict[str, str]]

    def resource_map(self) -> dict[str, Any]:
        return {
            "api_url": self.api_url,
            "aws_endpoint": self.aws_endpoint,
            "region": REGION,
            "tables": {k: v for k, v in self.resources.refs.items() if k.endswith("Table")},
            "queues": {k: v for k, v in self.resources.refs.items() if k.endswith("Queue")},
            "secrets": sorted([*self.secrets, self.resources.refs["CursorSigningKeySecret"]]),
            # Local only: the sandbox secrets, so a webhook can be signed by hand.
            "provider_secrets": self.secrets,
            "sessions": self.sessions,
            # Each function's environment, so `make invoke` runs it the same way.
            "environment": {
                function_id: {
                    **self.resources.environment(function_id),
                    "PUBLIC_API_URL": self.api_url,
                }
                for function_id in _function_ids()
            },
        }


def _function_ids() -> list[str]:
    from cashier_local import template

    return sorted(template.functions())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The stdlib's backlog of 5 resets bursts of clients (the race tests send 32 at once).
    request_queue_size = 128


def _make_handler(router: Any, access_log: threading.Event) -> type[BaseHTTPRequestHandler]:
    """`access_log` is set once the stack is ready: its own readiness probe is not
    a request the user made, so it is not printed as one."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            started = time.perf_counter()
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = router(
                self.command,
                url.path,
                parse_qsl(url.query, keep_blank_values=True),
                list(self.headers.items()),
                body,
                client_ip=self.client_address[0],
            )
            self.send_response(reply.status)
            for name, value in reply.headers:
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            if access_log.is_set():
                took = (time.perf_counter() - started) * 1000
                print(f"{self.command} {url.path} {reply.status} {took:.0f}ms", flush=True)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, PROPFIND, ...) reaches the gateway too, which
            # answers as API Gateway does for a method no route declares.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return None

    return Handler


def _host_allowed(headers: list[tuple[str, str]], port: int) -> bool:
    hosts = [value.strip().lower() for name, value in headers if name.lower() == "host"]
    return len(hosts) == 1 and hosts[0] in {f"127.0.0.1:{port}", f"localhost:{port}"}


def _host_refused(port: int) -> Any:
    from cashier_local.gateway import Reply

    message = (
        f"This local stack answers only requests addressed to 127.0.0.1:{port} or "
        f"localhost:{port} (Host header)."
    )
    return Reply.json(403, {"error": {"code": "host_not_allowed", "message": message}})


def start(
    port: int, seed_path: Path | None = None, access_log: threading.Event | None = None
) -> tuple[Stack, list[Any]]:
    """Start everything; returns the stack and what must be stopped, in order.
    Requests are printed once `access_log` is set."""
    from cashier_local.moto_server import LocalAwsServer

    # The API's port first: a busy port is reported before anything else starts.
    server = _Server(
        ("127.0.0.1", port),
        # router is defined below, once everything it routes to exists.
        _make_handler(lambda *a, **kw: router(*a, **kw), access_log or threading.Event()),  # noqa: PLW0108
    )
    aws = LocalAwsServer()
    endpoint = aws.start()
    local_environment(endpoint)

    import boto3

    from cashier_core.clock import utc_now
    from cashier_core.settings import read_settings
    from cashier_core.storage.transactions import TransactionStore
    from cashier_local import template
    from cashier_local.functions import LocalFunctions
    from cashier_local.gateway import Gateway, Reply
    from cashier_local.resources import provision
    from cashier_local.sandbox_page import PREFIX as SANDBOX_PREFIX
    from cashier_local.sandbox_page import SandboxPage
    from cashier_local.seed import DEFAULT_SEED, apply_seed, read_seed

    seed = read_seed(seed_path or DEFAULT_SEED)  # a bad seed stops here, naming the field
    session = boto3.session.Session(region_name=REGION)
    dynamodb = session.client("dynamodb")
    sqs = session.client("sqs")
    secretsmanager = session.client("secretsmanager")
    resources = provision(
        dynamodb=dynamodb,
        sqs=sqs,
        secretsmanager=secretsmanager,
        parameters=parameter_overrides(template.load_template().get("Parameters", {})),
    )
    api_url = f"http://127.0.0.1:{port}"
    for function_id in template.functions():
        os.environ.update(resources.environment(function_id))
    os.environ["PUBLIC_API_URL"] = api_url
    tables = read_settings(os.environ).tables
    secrets = apply_seed(
        seed, dynamodb=dynamodb, secretsmanager=secretsmanager, tables=tables, now=utc_now()
    )
    sessions = [
        {"name": s.name, "token": s.token, "customer_id": s.customer_id, "type": s.type}
        for s in seed.sessions
    ]
    stack = Stack(api_url, endpoint, resources, secrets, sessions)

    functions = LocalFunctions()
    gateway = Gateway(
        functions,
        {api_id: template.api_settings(resources.refs, api_id) for api_id in template.api_ids()},
    )
    configs = {(c.brand_id, c.provider): c for c in seed.provider_configs}

    def sandbox_secret(transaction: Any) -> str:
        config = configs[(transaction.brand_id, "sandbox")]
        return str(secrets[config.webhook_secret_ref or ""]["webhook_secrets"][0])

    brands = {brand.brand_id: brand for brand in seed.brands}
    page = SandboxPage(TransactionStore(dynamodb, tables), sandbox_secret, api_url, brands)

    def router(
        method: str, path: str, query: Any, headers: Any, body: bytes, *, client_ip: str
    ) -> Any:
        if not _host_allowed(headers, port):
            return _host_refused(port)
        if path == "/_local/resources" and method == "GET":
            return Reply.json(200, stack.resource_map())
        if path.startswith(SANDBOX_PREFIX + "/"):
            return page.handle(method, path, query, body)
        return gateway.handle(method, path, query, headers, body, client_ip=client_ip)

    threading.Thread(target=server.serve_forever, name="gateway", daemon=True).start()

    runners = _runners(functions, resources, sqs)
    for runner in runners:
        runner.start()

    def stop_server() -> None:
        server.shutdown()
        server.server_close()

    return stack, [*(r.stop for r in runners), stop_server, aws.stop]


def _runners(functions: Any, resources: Any, sqs: Any) -> list[Any]:
    """The credit queue's pollers and the schedules: what AWS runs without a request."""
    from cashier_local import template
    from cashier_local.runners import QueuePoller, Scheduler

    runners: list[Any] = []
    for spec in template.functions().values():
        for queue_event in spec.queue_events:
            # As the event source mapping, up to ScalingConfig's MaximumConcurrency
            # batches are in flight at once, so duplicates really meet concurrently.
            pollers = int(queue_event.get("ScalingConfig", {}).get("MaximumConcurrency", 2))
            runners.extend(
                QueuePoller(
                    functions,
                    spec.logical_id,
                    dict(queue_event),
                    sqs=sqs,
                    refs=resources.refs,
                    attributes=resources.attributes,
                )
                for _ in range(pollers)
            )
    override = os.environ.get("CASHIER_SCHEDULE_SECONDS")
    runners.append(Scheduler(functions, resources.refs, float(override) if override else None))
    return runners


def _wait_until_ready(stack: Stack) -> None:
    """Ready means a real request succeeds: the first live customer session asks
    for its own history through the gateway, the authorizer and the function."""
    live = next(
        (
            s
            for s in stack.sessions
            if s["type"] == "SESSION_CUSTOMER" and "expired" not in s["name"]
        ),
        None,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(f"{stack.api_url}/cashier/transactions?limit=1")  # noqa: S310
            if live:
                request.add_header("Authorization", f"Bearer {live['token']}")
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _banner(stack: Stack) -> str:
    pid = os.getpid()
    lines = [
        "",
        f"Cashier local stack (pid {pid}; stop it with Ctrl-C or: kill -INT {pid})",
        f"  API            {stack.api_url}   (routes as template.yaml, no stage prefix)",
        f"  local AWS      {stack.aws_endpoint}   (moto: aws --endpoint-url <it> ...)",
        f"  resources      {stack.api_url}/_local/resources",
        f"  BackOffice     {stack.api_url}/backoffice/...   (IAM API; locally, from loopback:",
        f"                 -H 'X-Cashier-Dev-Principal: {DEV_PRINCIPAL_EXAMPLE}')",
        "  tables",
        *(f"    {k:<24} {v}" for k, v in stack.resource_map()["tables"].items()),
        "  queues",
        *(f"    {k:<24} {v}" for k, v in stack.resource_map()["queues"].items()),
        "  demo sessions (Authorization: Bearer <token>)",
        *(f"    {s['name']:<34} {s['token']}" for s in stack.sessions),
        f"  state          {state_file()}   (read by make invoke, make redrive)",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    port = int(os.environ.get("CASHIER_PORT", "3000"))
    seed = Path(os.environ["CASHIER_SEED"]) if os.environ.get("CASHIER_SEED") else None
    from cashier_local.seed import SeedError

    access_log = threading.Event()
    print(f"starting the local stack (pid {os.getpid()}) ...", flush=True)
    try:
        stack, stoppers = start(port, seed, access_log)
    except SeedError as error:
        print(f"bad seed: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"cannot start the local stack on port {port}: {error}\n"
            f"choose another port with CASHIER_PORT, e.g. CASHIER_PORT={port + 1} make run",
            file=sys.stderr,
        )
        return 1
    stopped = threading.Event()
    # Before the ready line: whoever reads it may stop us at once. SIGINT
    # explicitly too: a shell that starts us in the background ignores it, and
    # Python then installs no KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    _wait_until_ready(stack)
    state = state_file()
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"pid": os.getpid(), **stack.resource_map()}, indent=2))
    print(_banner(stack))
    if os.environ.get("CASHIER_ACCESS_LOG", "1") == "1":
        access_log.set()
    print(f"Cashier API ready on {stack.api_url}", flush=True)

    while not stopped.wait(0.5):
        pass
    print("stopping the local stack", flush=True)
    for stop in stoppers:
        stop()
    _forget(state)
    return 0


def _forget(state: Path) -> None:
    """Remove the state file only if it is still ours: never another stack's."""
    try:
        if json.loads(state.read_text()).get("pid") == os.getpid():
            state.unlink()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything it started is stopped by now; the interpreter's own teardown
    # would spend seconds garbage-collecting moto's in-memory AWS first.
    os._exit(code)
