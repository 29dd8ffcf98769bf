"""Load and invoke a function's real handler the way Lambda does.

Each load executes the function's app.py in a fresh module namespace with its
folder first on sys.path (Lambda's task root), so one function's module-level
state (clients, caches) never leaks into another's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from cashier_core.settings import forget_settings
from cashier_local import template


@dataclass
class LambdaContext:
    """The fields Powertools and our handlers read from Lambda's context."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    timeout_seconds: int = 10

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def load_function(function_id: str) -> ModuleType:
    spec = template.functions()[function_id]
    path = spec.code_dir / f"{spec.module}.py"
    module_spec = importlib.util.spec_from_file_location(f"lambda_{function_id}", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    # A new container parses its environment again, as a Lambda cold start does;
    # otherwise the settings of the previous function (or test) would stay.
    forget_settings()
    sys.path.insert(0, str(spec.code_dir))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    return module


def invoke(module: ModuleType, event: Any, function_id: str = "local") -> Any:
    spec = template.functions().get(function_id)
    context = LambdaContext(function_name=function_id, timeout_seconds=spec.timeout if spec else 10)
    return module.lambda_handler(event, context)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    forget_settings()
    try:
        yield
    finally:
        forget_settings()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
