"""Create every table, queue and secret of template.yaml in a local AWS endpoint.

Used by the integration tests (moto in-process) and by the local stack (moto's
server on loopback). There is no second list of resources: what the template
declares is what gets created.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cashier_local import template

# CloudFormation queue properties that map one-to-one onto SQS attributes.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


@dataclass
class LocalResources:
    """Physical names of the provisioned resources, as !Ref and !GetAtt give them."""

    prefix: str
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def environment(self, function_id: str) -> dict[str, str]:
        return template.function_environment(function_id, self.refs, self.attributes)

    def as_json(self) -> dict[str, Any]:
        return {"refs": self.refs, "attributes": self.attributes}


# The local stack is a local stage: it loads the sandbox (its hosted page is
# the local stack's own) and its provider stand-ins listen on loopback.
# CASHIER_PARAMETERS may still override each.
LOCAL_PARAMETERS: dict[str, str] = {
    "StageKind": "local",
    "LoadedProviders": "sandbox,stripe,adyen,bank_wire",
    "AllowSandboxProvider": "true",
}


def provision(
    *,
    dynamodb: Any,
    sqs: Any,
    secretsmanager: Any,
    prefix: str = "cashier",
    parameters: dict[str, str] | None = None,
) -> LocalResources:
    """Create every resource; `parameters` override the template's parameter defaults."""
    resources = LocalResources(prefix=prefix)
    region = dynamodb.meta.region_name
    account = "123456789012"
    for name, declared in template.load_template().get("Parameters", {}).items():
        default = LOCAL_PARAMETERS.get(name, declared.get("Default", ""))
        resources.refs[name] = str((parameters or {}).get(name, default))
    resources.refs.update(
        {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
    )

    for logical_id in template.resources(template.TABLE_TYPE):
        name = f"{prefix}-{logical_id}"
        dynamodb.create_table(**template.create_table_request(logical_id, name))
        ttl = template.ttl_attribute(logical_id)
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl, "Enabled": True},
            )
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        resources.refs[logical_id] = name
        resources.attributes[f"{logical_id}.Arn"] = arn

    queues = template.resources(template.QUEUE_TYPE)
    # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    ordered = sorted(
        queues, key=lambda logical_id: "RedrivePolicy" in queues[logical_id].get("Properties", {})
    )
    for logical_id in ordered:
        properties = queues[logical_id].get("Properties", {})
        name = f"{prefix}-{logical_id}"
        attributes = {
            key: str(properties[key]).lower()
            if isinstance(properties[key], bool)
            else str(properties[key])
            for key in _QUEUE_ATTRIBUTES
            if key in properties
        }
        if "RedrivePolicy" in properties:
            policy = template.resolve(
                properties["RedrivePolicy"], resources.refs, resources.attributes
            )
            attributes["RedrivePolicy"] = json.dumps(policy)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        resources.refs[logical_id] = url
        resources.attributes[f"{logical_id}.Arn"] = arn
        resources.attributes[f"{logical_id}.QueueName"] = name
        resources.attributes[f"{logical_id}.QueueUrl"] = url

    for logical_id, resource in template.resources(template.SECRET_TYPE).items():
        properties = resource.get("Properties", {})
        name = f"{prefix}-{logical_id}"
        if "SecretString" in properties:
            raise ValueError(f"{logical_id}: secrets are generated, never written in the template")
        # Like GenerateSecretString: a fresh random value, never one from the repo.
        value = secrets.token_urlsafe(48)
        arn = secretsmanager.create_secret(Name=name, SecretString=value)["ARN"]
        resources.refs[logical_id] = arn
        resources.attributes[f"{logical_id}.Id"] = arn
    return resources
