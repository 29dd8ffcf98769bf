"""Cold import and warm dispatch: Powertools' resolver against FastAPI behind Mangum.

Run in a venv that has both (fastapi and mangum are not project dependencies):
    python bench/http_layer.py
It prints the median of fresh-interpreter import times and the mean warm
dispatch of one GET through each stack. The README quotes its output.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 7
POWERTOOLS = """
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
app = APIGatewayRestResolver(enable_validation=True)
@app.get("/ping")
def ping() -> dict:
    return {"ok": True}
"""
FASTAPI = """
from fastapi import FastAPI
from mangum import Mangum
api = FastAPI()
@api.get("/ping")
def ping() -> dict:
    return {"ok": True}
handler = Mangum(api, lifespan="off")
"""
EVENT = {
    "resource": "/ping", "path": "/ping", "httpMethod": "GET", "headers": {"Host": "x"},
    "multiValueHeaders": {"Host": ["x"]}, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
    "requestContext": {"resourcePath": "/ping", "httpMethod": "GET", "path": "/v1/ping",
                       "stage": "v1", "requestId": "r", "identity": {"sourceIp": "127.0.0.1"}},
    "body": None, "isBase64Encoded": False,
}  # fmt: skip


def cold_import_ms(source: str) -> float:
    samples = []
    for _ in range(RUNS):
        code = f"import time; t=time.perf_counter()\n{source}\nprint(time.perf_counter()-t)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout) * 1000)
    return statistics.median(samples)


def warm_dispatch_ms(source: str, call: str, n: int = 2000) -> float:
    namespace: dict[str, object] = {"EVENT": EVENT}
    exec(source, namespace)  # noqa: S102 - our own benchmark snippet
    exec(f"def _call():\n    return {call}", namespace)  # noqa: S102
    dispatch = namespace["_call"]
    dispatch()  # type: ignore[operator]
    start = time.perf_counter()
    for _ in range(n):
        dispatch()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1000


def main() -> None:
    pt_cold, fa_cold = cold_import_ms(POWERTOOLS), cold_import_ms(FASTAPI)
    pt_warm = warm_dispatch_ms(POWERTOOLS, "app.resolve(EVENT, None)")
    fa_warm = warm_dispatch_ms(FASTAPI, "handler(EVENT, type('C', (), {})())")
    print(f"python {sys.version.split()[0]}")
    print(
        f"cold import   powertools {pt_cold:7.1f} ms  fastapi+mangum {fa_cold:7.1f} ms"
        f"  (+{fa_cold - pt_cold:.0f} ms)"
    )
    print(
        f"warm dispatch powertools {pt_warm:7.3f} ms  fastapi+mangum {fa_warm:7.3f} ms"
        f"  ({fa_warm / pt_warm:.1f}x)"
    )


if __name__ == "__main__":
    main()
