"""Invoke a function's real handler the way Lambda does.

Each load executes the function's app.py in a fresh module namespace, with its
folder first on sys.path (Lambda's task root), so module-level state of one
function never leaks into another's.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cashier_local import template

EVENTS_DIR = template.REPO_ROOT / "events"


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def load_function(function_id: str) -> ModuleType:
    spec = template.functions()[function_id]
    path = spec.code_dir / f"{spec.module}.py"
    module_spec = importlib.util.spec_from_file_location(f"lambda_{function_id}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(spec.code_dir))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    return module


def invoke(module: ModuleType, event: dict[str, Any], function_id: str = "local") -> Any:
    handler = module.lambda_handler
    return handler(event, FakeLambdaContext(function_name=function_id))


def sample_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


def reply(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Status code and parsed JSON body of an API Gateway proxy response."""
    return response["statusCode"], json.loads(response["body"])


def events_dir() -> Path:
    return EVENTS_DIR
