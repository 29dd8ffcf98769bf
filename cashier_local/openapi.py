"""The OpenAPI 3.1 documents of the two APIs, from the handlers' own routes.

Each API function's resolver describes its own route; Powertools' OpenAPIMerge
joins those of one API. How each route authenticates comes from template.yaml.
`python -m cashier_local.openapi` rewrites docs/openapi.json (the public
Cashier API) and docs/backoffice-openapi.json (the internal BackOffice API); a
test fails when a committed file is stale or disagrees with the template.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from cashier_local import template
from cashier_local.lambdas import environment, load_function

DOCS = template.REPO_ROOT / "docs"
SESSION_SCHEME = "customerSession"
SIGV4_SCHEME = "sigv4"


@dataclass(frozen=True)
class ApiDocument:
    api_id: str
    path: Path
    title: str
    description: str
    scheme: str
    security_scheme: dict[str, Any]


DOCUMENTS = (
    ApiDocument(
        api_id="CashierApi",
        path=DOCS / "openapi.json",
        title="Cashier API",
        description=(
            "Deposits and withdrawals for the brokerage's trading accounts. Amounts are "
            "decimal strings; statuses are fixed numbers (0 created ... 9 manual_review). "
            'Every error is {"error": {"code", "message"}}.'
        ),
        scheme=SESSION_SCHEME,
        security_scheme={
            "type": "http",
            "scheme": "bearer",
            "description": "A SESSION_CUSTOMER session token, checked by the Lambda authorizer.",
        },
    ),
    ApiDocument(
        api_id="BackOfficeApi",
        path=DOCS / "backoffice-openapi.json",
        title="Cashier BackOffice API (internal)",
        description=(
            "Operators finish withdrawals, resolve reviewed deposits, retry failed credits, "
            "confirm bank wires and reconcile accounts. Every action is a guarded status "
            "change with an append-only audit record, and is idempotent."
        ),
        scheme=SIGV4_SCHEME,
        security_scheme={
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "AWS Signature Version 4 by the BackOffice role (API Gateway AWS_IAM).",
        },
    ),
)
PUBLIC = DOCUMENTS[0]


def generate(document: ApiDocument = PUBLIC) -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=document.title,
        version="1.0.0",
        description=document.description,
        on_conflict="error",
    )
    authenticated: dict[tuple[str, str], bool] = {}
    for spec in template.functions().values():
        routes = [route for route in spec.routes if route.api_id == document.api_id]
        if not routes:
            continue
        placeholder = {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}
        with environment({**placeholder, **template.placeholder_environment(spec.logical_id)}):
            module = load_function(spec.logical_id)
        merge.add_schema(json.loads(module.app.get_openapi_json_schema()))
        for route in routes:
            authenticated[(route.method.lower(), route.path)] = route.authorized
    generated = merge.get_openapi_schema()
    generated.setdefault("components", {})["securitySchemes"] = {
        document.scheme: document.security_scheme
    }
    for path, operations in generated["paths"].items():
        for method, operation in operations.items():
            if authenticated.get((method, path), False):
                operation["security"] = [{document.scheme: []}]
    return generated


def render(document: ApiDocument = PUBLIC) -> str:
    return json.dumps(generate(document), indent=2, sort_keys=True) + "\n"


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    for document in DOCUMENTS:
        document.path.write_text(render(document))
        print(f"wrote {document.path.relative_to(template.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
