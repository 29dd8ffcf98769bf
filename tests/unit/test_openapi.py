"""docs/openapi.json and docs/backoffice-openapi.json are generated from the
handlers and agree with template.yaml, route for route."""

from __future__ import annotations

import json

import pytest

from cashier_local import openapi, template

DOCUMENTS = {document.api_id: document for document in openapi.DOCUMENTS}


def test_every_api_of_the_template_has_its_document() -> None:
    assert set(DOCUMENTS) == set(template.api_ids())


@pytest.mark.parametrize("api_id", sorted(DOCUMENTS))
def test_the_committed_document_is_what_the_handlers_generate(api_id: str) -> None:
    document = DOCUMENTS[api_id]
    committed = document.path.read_text()
    assert committed == openapi.render(document), "stale: run `python -m cashier_local.openapi`"


@pytest.mark.parametrize("api_id", sorted(DOCUMENTS))
def test_its_routes_are_exactly_the_templates(api_id: str) -> None:
    document = json.loads(DOCUMENTS[api_id].path.read_text())
    documented = {
        (method.upper(), path, "security" in operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert documented == {
        (r.method, r.path, r.authorized) for r in template.routes() if r.api_id == api_id
    }


@pytest.mark.parametrize("api_id", sorted(DOCUMENTS))
def test_every_error_response_has_the_error_shape(api_id: str) -> None:
    document = json.loads(DOCUMENTS[api_id].path.read_text())
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorReply"}, (
                        status,
                        operation["summary"],
                    )
