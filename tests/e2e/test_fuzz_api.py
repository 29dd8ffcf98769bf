"""schemathesis against the committed OpenAPI document and the running local
stack, with a valid customer session: every customer operation answers with
no 5xx, with a status and a body the document declares.

`make test` runs a short form (FUZZ_EXAMPLES per operation); the long form is
`CASHIER_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest -m e2e tests/e2e/test_fuzz_api.py`
(docs/security.md)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cashier_local.openapi import PUBLIC
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
FUZZ_EXAMPLES = int(os.environ.get("CASHIER_FUZZ_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The customer operations; the webhook is the providers', signed, and fuzzed
# through the attack matrix and the provider tests instead.
schema = schemathesis.openapi.from_path(PUBLIC.path).exclude(path_regex="^/cashier/webhook")


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_customer_operations_never_5xx_and_keep_to_the_document(
    case: schemathesis.Case, stack: LocalStack
) -> None:
    case.call_and_validate(
        base_url=stack.http.base_url,
        headers={"Authorization": f"Bearer {stack.token('alice')}"},
        checks=CHECKS,
    )
