"""`make bench`: cold start, AWS calls per operation, warm latency, layer size.

A script, never a timed test. It writes docs/benchmarks.md and prints the same.

1. Cold init: a fresh interpreter imports one function's app module from the
   `sam build` output, with its layers' python/ folders on the path (as /opt
   is in Lambda) and its template environment set; the median of RUNS, as a
   ratio against the floor measured in the same run: a fresh interpreter
   importing boto3 and creating a DynamoDB client.
2. AWS calls per operation, counted with a botocore `before-call` hook on
   every client, against moto with the default seed, caches warm (the second
   lifecycle): authorizer, deposit, webhook, credit, withdrawal, and one whole
   deposit lifecycle (authorizer + deposit + webhook + credit).
3. Warm handler latency: p50 and p99 of WARM_CALLS invocations per function
   against moto in-process (moto's own time included).
4. Layer size: the built layers' unzipped size (`sam build` output).
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "layers" / "cashier_core"), str(REPO / "providers")]

RUNS = int(os.environ.get("BENCH_RUNS", "9"))
WARM_CALLS = int(os.environ.get("BENCH_WARM_CALLS", "1000"))
# Calls that create a transaction (deposits, withdrawals): each grows the tables, and
# moto copies every table a TransactWriteItems touches, so a thousand accepted
# deposits in one world time moto (and took 17 GB), not the handler.
DEPOSIT_CALLS = int(os.environ.get("BENCH_DEPOSIT_CALLS", "200"))
COLD_TARGET = 1.25
CALLS_TARGET = 10
REGION = "eu-west-1"
OPERATOR = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/bench"

FLOOR = """
import time
started = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="eu-west-1")
print(time.perf_counter() - started)
"""
# What the shared libraries cost on top of the floor, to explain the ratios.
REFERENCES = {
    "floor + pydantic": "import pydantic",
    "floor + Powertools Logger": "from aws_lambda_powertools import Logger",
    "floor + Powertools REST resolver with validation": (
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
        "APIGatewayRestResolver(enable_validation=True)"
    ),
}
FLOOR_ROW = "floor"
NO_BYTECODE_EXAMPLE = "GetCashierMethodsFunction"
NO_BYTECODE_ROW = f"{NO_BYTECODE_EXAMPLE}, layer without bytecode"
FUNCTION = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import app
print(time.perf_counter() - started)
"""


# --- 1. cold init ---------------------------------------------------------------
# Children run where Lambda's packages are and nothing else: a venv with the
# layers' requirements and the runtime's boto3 (`make bench` builds it), not the
# development venv, whose extra packages (pyOpenSSL, awscrt) boto3 would import.
CHILD_PYTHON = os.environ.get("BENCH_PYTHON", sys.executable)


def _child(code: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [CHILD_PYTHON, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


BUILD = REPO / ".aws-sam" / "build"


def _host_native_packages(scratch: Path) -> Path:
    """The built layer's wheels are for arm64; its one native package,
    pydantic_core, is swapped for the child interpreter's own build (same
    pinned version) so the rest of the layer, bytecode included, is what ships."""
    found = subprocess.run(
        [CHILD_PYTHON, "-c", "import pydantic_core; print(pydantic_core.__path__[0])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (scratch / "pydantic_core").symlink_to(found, target_is_directory=True)
    return scratch


def cold_starts() -> tuple[float, dict[str, float]]:
    import tempfile

    from cashier_local import template

    if not (BUILD / "template.yaml").is_file():
        raise SystemExit("run `make build` first: cold starts are measured on its output")
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        native = _host_native_packages(Path(scratch))
        # The same core layer without its bytecode, as SAM's python builder
        # would ship it: what the makefile build saves.
        shutil.copytree(
            BUILD / "CashierCoreLayer" / "python",
            Path(scratch) / "no-bytecode",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        return _cold_starts(template, native, Path(scratch) / "no-bytecode")


def _cold_starts(
    template: Any, native: Path, core_without_bytecode: Path
) -> tuple[float, dict[str, float]]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    jobs: list[tuple[str, str, dict[str, str]]] = [(FLOOR_ROW, FLOOR, base)]
    for name, extra in REFERENCES.items():
        jobs.append((name, FLOOR.replace("print(", extra + "\nprint(", 1), base))
    for function_id, spec in template.functions().items():
        layers = [str(BUILD / layer / "python") for layer in spec.layers]
        paths = [str(BUILD / function_id), str(native), *layers]
        env = {**base, **template.placeholder_environment(function_id)}
        jobs.append((function_id, FUNCTION.format(paths=paths), env))
    paths = [str(BUILD / NO_BYTECODE_EXAMPLE), str(native), str(core_without_bytecode)]
    env = {**base, **template.placeholder_environment(NO_BYTECODE_EXAMPLE)}
    jobs.append((NO_BYTECODE_ROW, FUNCTION.format(paths=paths), env))
    samples: dict[str, list[float]] = {}
    order = random.Random(RUNS)  # noqa: S311 - run order, not a secret; fixed for repeatability
    for _ in range(RUNS):
        # Every round runs each child once, in a new order: drift and any
        # position effect (the child after the slowest one) hit all rows alike.
        order.shuffle(jobs)
        for name, code, env in jobs:
            samples.setdefault(name, []).append(_child(code, env))
    floors = samples.pop(FLOOR_ROW)
    return statistics.median(floors), {k: statistics.median(v) for k, v in samples.items()}


# --- 2 and 3: against moto ----------------------------------------------------------
class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.calls = Counter()
        yield self.calls


COUNTER = CallCounter()


@contextmanager
def local_world() -> Iterator[tuple[Any, CallCounter]]:
    """moto with the template's resources and the default seed; every boto3
    client made from here on reports its calls to the counter."""
    import boto3
    import botocore.session
    from moto import mock_aws

    os.environ.update(
        {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench",
         "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_METRICS_NAMESPACE": "CashierBench",
         "POWERTOOLS_LOG_LEVEL": "ERROR", "PUBLIC_API_URL": "http://127.0.0.1:3000"}
    )  # fmt: skip
    counter = COUNTER
    if not getattr(botocore.session.Session.create_client, "counted", False):
        # Every client, from any session (Powertools makes its own), gets the hook.
        create_client = botocore.session.Session.create_client

        def counted_client(self: Any, *args: Any, **kwargs: Any) -> Any:
            client = create_client(self, *args, **kwargs)
            client.meta.events.register("before-call", COUNTER)
            return client

        counted_client.counted = True  # type: ignore[attr-defined]
        botocore.session.Session.create_client = counted_client  # type: ignore[method-assign]
    with mock_aws():
        from cashier_core.cashier import forget_secrets
        from cashier_local.resources import provision

        forget_secrets()  # a new world has new secrets
        from cashier_local.seed import apply_seed, read_seed

        session = boto3.session.Session(region_name=REGION)
        dynamodb, sqs = session.client("dynamodb"), session.client("sqs")
        resources = provision(
            dynamodb=dynamodb, sqs=sqs, secretsmanager=session.client("secretsmanager")
        )
        for function_id in ("CreditWorkerFunction", "CreateCashierDepositFunction"):
            os.environ.update(resources.environment(function_id))
        from cashier_core.settings import (
            DEPOSITS_PER_CUSTOMER_PER_MINUTE,
            forget_settings,
            read_settings,
        )

        # One customer makes DEPOSIT_CALLS deposits here: the per-minute rate and
        # the brands' deposit limits would refuse most of them, and a refusal
        # is not what the deposit figures mean to time (_answered checks).
        os.environ[DEPOSITS_PER_CUSTOMER_PER_MINUTE] = str(10 * max(WARM_CALLS, DEPOSIT_CALLS))
        forget_settings()
        seed = read_seed()
        unlimited = [brand.model_copy(update={"deposit_limits": {}}) for brand in seed.brands]
        secrets = apply_seed(
            seed.model_copy(update={"brands": unlimited}),
            dynamodb=dynamodb,
            secretsmanager=session.client("secretsmanager"),
            tables=read_settings(os.environ).tables,
            now=datetime.now(UTC),
        )
        yield (resources, secrets, sqs), counter


class Lambdas:
    def __init__(self) -> None:
        self.modules: dict[str, Any] = {}

    def __call__(self, function_id: str, event: Any) -> Any:
        from cashier_local.lambdas import invoke, load_function

        if function_id not in self.modules:
            self.modules[function_id] = load_function(function_id)
        return invoke(self.modules[function_id], event, function_id)


def _events(secrets: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    from cashier_local.events import api_event, authorizer_context
    from cashier_providers import signing

    alice = authorizer_context("cus-alice", "brand-alpha")
    secret = secrets["cashier/webhooks/brand-alpha/sandbox"]["webhook_secrets"][0]

    def deposit() -> dict[str, Any]:
        body = {
            "account_id": "acc-alice-usd",
            "method_id": "card-sandbox",
            "amount": "25.00",
            "currency": "USD",
        }
        return api_event(method="POST", resource="/cashier/deposit", path="/cashier/deposit",
                         headers=[("Content-Type", "application/json"), ("Idempotency-Key", f"bench-{uuid.uuid4().hex}")],
                         body=json.dumps(body).encode(), authorizer=alice)  # fmt: skip

    def withdrawal() -> dict[str, Any]:
        body = {"account_id": "acc-dan-jpy", "amount": "1", "currency": "JPY"}
        return api_event(method="POST", resource="/cashier/withdrawal", path="/cashier/withdrawal",
                         headers=[("Content-Type", "application/json"), ("Idempotency-Key", f"bench-{uuid.uuid4().hex}")],
                         body=json.dumps(body).encode(), authorizer=authorizer_context("cus-dan", "brand-beta"))  # fmt: skip

    def webhook(transaction: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "transaction_id": transaction["transaction_id"],
                          "status": "succeeded", "amount": "25.00", "currency": "USD"}).encode()  # fmt: skip
        header = signing.sign(raw, secret, int(time.time()))
        return api_event(method="POST", resource="/cashier/webhook/{provider}", path="/cashier/webhook/sandbox",
                         path_parameters={"provider": "sandbox"}, body=raw,
                         headers=[("Content-Type", "application/json"), ("X-Sandbox-Signature", header)])  # fmt: skip

    def methods() -> dict[str, Any]:
        return api_event(method="GET", resource="/cashier/methods", path="/cashier/methods",
                         query=[("account_id", "acc-alice-usd")], authorizer=alice)  # fmt: skip

    def history() -> dict[str, Any]:
        return api_event(method="GET", resource="/cashier/transactions", path="/cashier/transactions",
                         query=[("limit", "20")], authorizer=alice)  # fmt: skip

    def authorizer() -> dict[str, Any]:
        return {"type": "TOKEN", "authorizationToken": "Bearer demo-alice-local-session-0001",
                "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:local/v1/GET/cashier/methods"}  # fmt: skip

    return {"deposit": deposit, "withdrawal": withdrawal, "webhook": webhook, "methods": methods,
            "history": history, "authorizer": authorizer}  # fmt: skip


def _sqs_event(messages: list[dict[str, Any]], arn: str) -> dict[str, Any]:
    from cashier_local.runners import sqs_event

    return sqs_event(messages, arn, REGION)


def aws_calls() -> dict[str, int]:
    with local_world() as ((resources, secrets, sqs), counter):
        call = Lambdas()
        events = _events(secrets)
        queue_url, queue_arn = (
            resources.refs["CreditQueue"],
            resources.attributes["CreditQueue.Arn"],
        )

        def one_lifecycle() -> dict[str, int]:
            counts: dict[str, int] = {}
            with counter.counting() as calls:
                call("SessionAuthorizerFunction", events["authorizer"]())
            counts["authorizer"] = sum(calls.values())
            with counter.counting() as calls:
                created = json.loads(
                    call("CreateCashierDepositFunction", events["deposit"]())["body"]
                )
            counts["deposit"] = sum(calls.values())
            with counter.counting() as calls:
                call("ProcessCashierWebhookFunction", events["webhook"](created["transaction"]))
            counts["webhook"] = sum(calls.values())
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
            with counter.counting() as calls:
                call("CreditWorkerFunction", _sqs_event(messages, queue_arn))
            counts["credit"] = sum(calls.values())
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            with counter.counting() as calls:
                call("CreateCashierWithdrawalFunction", events["withdrawal"]())
            counts["withdrawal"] = sum(calls.values())
            counts["deposit lifecycle (authorizer + deposit + webhook + credit)"] = sum(
                counts[k] for k in ("authorizer", "deposit", "webhook", "credit")
            )
            return counts

        one_lifecycle()  # cold: caches fill
        counts = one_lifecycle()  # warm: what a busy container does

        return counts


def latencies() -> dict[str, tuple[float, float]]:
    """Each handler in a fresh moto world: moto's TransactWriteItems deep-copies
    every table it touches, so a world that kept growing would time moto, not us."""
    latency: dict[str, tuple[float, float]] = {}
    plans = [
        ("authorizer", "SessionAuthorizerFunction"),
        ("methods", "GetCashierMethodsFunction"),
        ("history", "GetCashierTransactionsFunction"),
        ("deposit", "CreateCashierDepositFunction"),
        ("withdrawal", "CreateCashierWithdrawalFunction"),
    ]
    for name, function_id in plans:
        with local_world() as ((_, secrets, _), _):
            count = DEPOSIT_CALLS if name in ("deposit", "withdrawal") else WARM_CALLS
            latency[name] = _timed(count, Lambdas(), function_id, _events(secrets)[name])
    with local_world() as ((resources, secrets, sqs), _):
        call, events = Lambdas(), _events(secrets)
        queue_url, queue_arn = (
            resources.refs["CreditQueue"],
            resources.attributes["CreditQueue.Arn"],
        )
        created = [
            json.loads(
                _answered(call("CreateCashierDepositFunction", events["deposit"]()))["body"]
            )["transaction"]
            for _ in range(DEPOSIT_CALLS)
        ]
        webhook_timings, credit_timings = [], []
        for index, transaction in enumerate(created):
            event = events["webhook"](transaction)
            started = time.perf_counter()
            answer = call("ProcessCashierWebhookFunction", event)
            webhook_timings.append((time.perf_counter() - started) * 1000)
            _answered(answer)
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
            started = time.perf_counter()
            batch = call("CreditWorkerFunction", _sqs_event(messages, queue_arn))
            credit_timings.append((time.perf_counter() - started) * 1000)
            if batch and batch.get("batchItemFailures"):
                raise SystemExit(f"a timed credit failed: {batch}")
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            if index % 100 == 99:
                gc.collect()  # moto's table copies have cycles: freed here, not timed
        latency["webhook"] = _p50_p99(webhook_timings)
        latency["credit"] = _p50_p99(credit_timings)
    return latency


def _timed(
    count: int, call: Lambdas, function_id: str, make: Callable[[], Any]
) -> tuple[float, float]:
    timings = []
    for index in range(count):
        event = make()
        started = time.perf_counter()
        answer = call(function_id, event)
        timings.append((time.perf_counter() - started) * 1000)
        _answered(answer)
        if index % 100 == 99:
            gc.collect()  # outside the timed part
    return _p50_p99(timings)


def _answered(answer: Any) -> Any:
    """A timed call must have done its work: a refusal (4xx) answers faster
    and would make the figure look better than the operation is."""
    status = answer.get("statusCode", 200) if isinstance(answer, dict) else 200
    if not 200 <= status < 300:
        raise SystemExit(f"a timed call was refused ({status}): {answer.get('body')}")
    return answer


def _pending_deposits(resources: Any) -> list[str]:
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    found = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=resources.refs["TransactionsTable"]
    ):
        found += [i["transaction_id"]["S"] for i in page["Items"] if i["status"]["N"] == "1"]
    return found


def _p50_p99(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


# --- 4. layer size ------------------------------------------------------------------
def layer_sizes() -> dict[str, int]:
    build = BUILD
    sizes = {}
    for layer in ("CashierCoreLayer", "ProvidersLayer"):
        root = build / layer
        if root.exists():
            sizes[layer] = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return sizes


# --- report ------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}")  # fmt: skip


def main() -> int:
    floor, colds = cold_starts()
    counts = aws_calls()
    latency = latencies()
    sizes = layer_sizes()
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (bench/benchmark.py) on {datetime.now(UTC):%Y-%m-%d}: {machine()}.",
        "Figures move with the machine's load; the ratios and counts are what to watch.",
        "",
        "## Cold init (fresh interpreter, median of "
        f"{RUNS}; floor = `import boto3` + a DynamoDB client = {floor * 1000:.0f} ms)",
        "",
        f"| function | init ms | × floor | within {COLD_TARGET}× |",
        "|---|---|---|---|",
    ]
    references = {*REFERENCES, NO_BYTECODE_ROW}
    rows = sorted(colds.items(), key=lambda item: (item[0] in references, item[0]))
    for index, (function_id, seconds) in enumerate(rows):
        if function_id in references and (index == 0 or rows[index - 1][0] not in references):
            lines.append("| *reference points* | | | |")
        ratio = seconds / floor
        lines.append(
            f"| {function_id} | {seconds * 1000:.0f} | {ratio:.2f} | {'yes' if ratio <= COLD_TARGET else '**no**'} |"
        )
    lines += ["", f"## AWS calls per operation (warm caches; target ≤ {CALLS_TARGET} for a deposit's lifecycle)", "",
              "| operation | AWS calls |", "|---|---|"]  # fmt: skip
    lines += [f"| {name} | {count} |" for name, count in counts.items()]
    lines += ["", f"## Warm handler latency against moto ({WARM_CALLS} invocations each;"
              f" {DEPOSIT_CALLS} for deposits, withdrawals, webhooks and credits)", "",
              "| handler | p50 ms | p99 ms |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {name} | {p50:.2f} | {p99:.2f} |" for name, (p50, p99) in latency.items()]
    lines += [
        "",
        "## Layer size (unzipped, `sam build` output)",
        "",
        "| layer | MiB |",
        "|---|---|",
    ]
    lines += [f"| {name} | {size / 2**20:.1f} |" for name, size in sizes.items()] or [
        "| (run `make build` first) | |"
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    out = REPO / "docs" / "benchmarks.md"
    if os.environ.get("BENCH_WRITE", "1") == "1":
        existing = out.read_text() if out.exists() else ""
        notes = existing.split("\n## Notes\n", 1)[1] if "\n## Notes\n" in existing else ""
        out.write_text(report + ("\n## Notes\n" + notes if notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
