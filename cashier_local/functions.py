"""The template's functions as a local runtime: pools of Lambda-like containers.

A container is one fresh module namespace of a function's app.py serving one
invocation at a time, as in Lambda (Powertools' resolver keeps the current
event on the module's `app`, so two concurrent requests must never share one).
Up to `max_containers` per function run at once, so concurrent requests
really interleave against the local AWS.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

from cashier_local import template
from cashier_local.lambdas import invoke, load_function

# boto3's default session is not thread-safe while clients are created.
_cold_start = threading.Lock()
# Powertools' REST resolver keeps the current event and context on its BaseRouter
# class (event_handler/api_gateway.py: `BaseRouter.current_event = ...`), one
# value per process. Lambda runs one request per process, so that is safe
# there; here every container shares this process, and two API requests at once
# could each read the other's event (its headers, body, even its caller). So
# API handlers run one at a time; queue and scheduled functions, which use no
# resolver, still run concurrently against the local AWS.
_resolver = threading.Lock()


class FunctionPool:
    def __init__(self, function_id: str, max_containers: int = 4) -> None:
        self.function_id = function_id
        self._max = max_containers
        self._idle: list[ModuleType] = []
        self._count = 0
        self._available = threading.Condition()
        self._uses_resolver = bool(template.functions()[function_id].routes)

    def _acquire(self) -> ModuleType:
        with self._available:
            while not self._idle and self._count >= self._max:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            with _cold_start:
                return load_function(self.function_id)
        except BaseException:
            with self._available:
                self._count -= 1
                self._available.notify()
            raise

    def _release(self, module: ModuleType) -> None:
        with self._available:
            self._idle.append(module)
            self._available.notify()

    def invoke(self, event: Any) -> Any:
        module = self._acquire()
        try:
            if self._uses_resolver:
                with _resolver:
                    return invoke(module, event, self.function_id)
            return invoke(module, event, self.function_id)
        finally:
            self._release(module)


class LocalFunctions:
    def __init__(self, max_containers: int = 4) -> None:
        self.pools = {
            function_id: FunctionPool(function_id, max_containers)
            for function_id in template.functions()
        }

    def invoke(self, function_id: str, event: Any) -> Any:
        return self.pools[function_id].invoke(event)
