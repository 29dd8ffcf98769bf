"""The TOKEN authorizer's contract with API Gateway, written by hand (see
cashier_core.authorizer), so pinned here."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.authorizer import allow_policy, stage_resource


@pytest.mark.parametrize(
    ("method_arn", "resource"),
    [
        (
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/GET/cashier/methods",
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/*/*",
        ),
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/prod_2/POST/cashier/deposit",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/prod_2/*/*",
        ),
        (
            "arn:aws:execute-api:eu-west-1:123456789012:local/v1/GET/",
            "arn:aws:execute-api:eu-west-1:123456789012:local/v1/*/*",
        ),
    ],
)
def test_the_policy_covers_every_route_of_the_methods_stage(method_arn: str, resource: str) -> None:
    assert stage_resource(method_arn) == resource


@pytest.mark.parametrize(
    "method_arn",
    [
        "",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1",
        "arn:aws:lambda:eu-west-1:123456789012:function:x/v1/GET/",
        "arn:aws:execute-api:eu-west-1:12345:abc123/v1/GET/",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/",  # a wildcard stage
        "arn:aws:execute-api:eu-west-1:123456789012:abc*/v1/GET/",
    ],
)
def test_anything_but_an_execute_api_method_arn_is_refused(method_arn: str) -> None:
    with pytest.raises(ValueError, match="method ARN"):
        stage_resource(method_arn)


@given(st.text(max_size=200))
def test_any_text_gives_a_stage_wildcard_or_value_error(text: str) -> None:
    try:
        resource = stage_resource(text)
    except ValueError:
        return
    # Never wider than one stage of one API of one account.
    assert resource.endswith("/*/*")
    assert resource.count("*") == 2
    assert text.startswith(resource.removesuffix("*/*"))


def test_the_allow_policy_is_the_documented_shape() -> None:
    resource = "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/*/*"
    assert allow_policy("cust-1", resource, {"customer_id": "cust-1", "brand_id": "b"}) == {
        "principalId": "cust-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [resource]}
            ],
        },
        "context": {"customer_id": "cust-1", "brand_id": "b"},
    }
