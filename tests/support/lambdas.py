"""Test helpers around cashier_local.lambdas: sample events and proxy replies."""

from __future__ import annotations

import json
from typing import Any

from cashier_local import template
from cashier_local.lambdas import invoke, load_function

EVENTS_DIR = template.REPO_ROOT / "events"

__all__ = ["EVENTS_DIR", "invoke", "load_function", "reply", "sample_event"]


def sample_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


def reply(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Status code and parsed JSON body of an API Gateway proxy response."""
    return response["statusCode"], json.loads(response["body"])
