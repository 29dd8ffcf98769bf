"""API Gateway's TOKEN authorizer contract: a method ARN in, an IAM policy out.

Written here rather than with Powertools' authorizer data classes on purpose:
importing any of them runs `utilities.data_classes/__init__`, which loads
every event class Powertools has, about a tenth of the authorizer's cold
start (docs/benchmarks.md). The contract is two small documents, pinned by
tests/unit/cashier_core/test_authorizer.py.
"""

from __future__ import annotations

import re
from typing import Any, Final

# arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>
_METHOD_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<api_id>[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_-]+)/[A-Z*]+(?:/.*)?"
)


def stage_resource(method_arn: str) -> str:
    """Every route of the method's stage (`…/<stage>/*/*`): API Gateway caches one
    answer per token for all routes, so the policy must not name just one.
    ValueError when `method_arn` is not an execute-api method ARN."""
    match = _METHOD_ARN.fullmatch(method_arn)
    if match is None:
        raise ValueError("not an execute-api method ARN")
    api = "arn:{partition}:execute-api:{region}:{account}:{api_id}".format(**match.groupdict())
    return f"{api}/{match['stage']}/*/*"


def allow_policy(principal_id: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    """The authorizer's answer: `context` reaches the handlers as
    `requestContext.authorizer`."""
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [resource]}
            ],
        },
        "context": context,
    }
