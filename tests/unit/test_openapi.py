"""docs/openapi.json is generated from the handlers and agrees with template.yaml."""

from __future__ import annotations

import json

from cashier_local import openapi, template


def test_the_committed_document_is_what_the_handlers_generate() -> None:
    committed = openapi.OPENAPI_PATH.read_text()
    assert committed == openapi.render(), "stale: run `python -m cashier_local.openapi`"


def test_its_routes_are_exactly_the_templates() -> None:
    document = json.loads(openapi.OPENAPI_PATH.read_text())
    documented = {
        (method.upper(), path, "security" in operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert documented == {(r.method, r.path, r.authorized) for r in template.routes()}


def test_every_error_response_has_the_error_shape() -> None:
    document = json.loads(openapi.OPENAPI_PATH.read_text())
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorReply"}, (
                        status,
                        operation["summary"],
                    )
