"""The OpenAPI 3.1 document of the public API, from the handlers' own routes.

Each API function's resolver describes its own route; Powertools' OpenAPIMerge
joins them. Which routes need a session comes from template.yaml's Auth.
`python -m cashier_local.openapi` rewrites docs/openapi.json; a test fails when
the committed file is stale or disagrees with the template's routes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from cashier_local import template
from cashier_local.lambdas import environment, load_function

OPENAPI_PATH = template.REPO_ROOT / "docs" / "openapi.json"
SESSION_SCHEME = "customerSession"


def generate() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title="Cashier API",
        version="1.0.0",
        description=(
            "Deposits and withdrawals for the brokerage's trading accounts. Amounts are "
            "decimal strings; statuses are fixed numbers (0 created ... 9 manual_review). "
            'Every error is {"error": {"code", "message"}}.'
        ),
        on_conflict="error",
    )
    authorized: dict[tuple[str, str], bool] = {}
    for spec in template.functions().values():
        if not spec.routes:
            continue
        placeholder = {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}
        with environment({**placeholder, **template.placeholder_environment(spec.logical_id)}):
            module = load_function(spec.logical_id)
        merge.add_schema(json.loads(module.app.get_openapi_json_schema()))
        for route in spec.routes:
            authorized[(route.method.lower(), route.path)] = route.authorized
    document = merge.get_openapi_schema()
    document.setdefault("components", {})["securitySchemes"] = {
        SESSION_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A SESSION_CUSTOMER session token, checked by the Lambda authorizer.",
        }
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if authorized.get((method, path), False):
                operation["security"] = [{SESSION_SCHEME: []}]
    return document


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    OPENAPI_PATH.parent.mkdir(exist_ok=True)
    OPENAPI_PATH.write_text(render())
    print(f"wrote {OPENAPI_PATH.relative_to(template.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
