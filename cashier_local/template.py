"""template.yaml as data: tables, queues, functions, routes and environments.

Tests and the local stack build every resource from these definitions, so the
schema, the routes and the environment variables have one home: the template.
cfn-lint's decoder reads the CloudFormation tags (!Ref, !GetAtt, !Sub).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a secret
FUNCTION_TYPE = "AWS::Serverless::Function"


SESSION_AUTH = "session"  # the API's Lambda authorizer (a customer session)
IAM_AUTH = "iam"  # AWS_IAM: SigV4-signed by an IAM principal
NO_AUTH = "none"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function_id: str
    api_id: str
    auth: str  # SESSION_AUTH, IAM_AUTH or NO_AUTH

    @property
    def authorized(self) -> bool:
        """Whether API Gateway authenticates the caller before the function runs."""
        return self.auth != NO_AUTH


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    timeout: int
    environment: Mapping[str, Any]
    routes: tuple[Route, ...] = ()
    queue_events: tuple[Mapping[str, Any], ...] = ()
    schedules: tuple[Mapping[str, Any], ...] = field(default=())
    # Logical ids of its layers, Globals' first, in the order Lambda stacks them.
    layers: tuple[str, ...] = ()


def _plain(node: Any) -> Any:
    """cfn-lint's nodes as ordinary dicts, lists and strings."""
    if isinstance(node, Mapping):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    if isinstance(node, str):
        return str(node)
    return node


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    document: dict[str, Any] = _plain(cfn_yaml.load(str(path)))
    return document


def resources(resource_type: str, path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in load_template(path)["Resources"].items()
        if resource["Type"] == resource_type
    }


def create_table_request(logical_id: str, table_name: str) -> dict[str, Any]:
    """boto3 create_table arguments for the template's table definition."""
    properties = resources(TABLE_TYPE)[logical_id]["Properties"]
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in properties:
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    return request


def ttl_attribute(logical_id: str) -> str | None:
    spec = resources(TABLE_TYPE)[logical_id]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec and spec.get("Enabled") else None


def _globals() -> dict[str, Any]:
    globals_: dict[str, Any] = load_template().get("Globals", {}).get("Function", {})
    return globals_


def functions() -> dict[str, FunctionSpec]:
    globals_ = _globals()
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in resources(FUNCTION_TYPE).items():
        properties = resource["Properties"]
        module, handler = properties.get("Handler", globals_.get("Handler", "")).rsplit(".", 1)
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        routes: list[Route] = []
        queue_events: list[Mapping[str, Any]] = []
        schedules: list[Mapping[str, Any]] = []
        for event in properties.get("Events", {}).values():
            event_properties = event.get("Properties", {})
            if event["Type"] == "Api":
                api_id = event_properties.get("RestApiId", {}).get("Ref", "")
                routes.append(
                    Route(
                        method=event_properties["Method"].upper(),
                        path=event_properties["Path"],
                        function_id=logical_id,
                        api_id=api_id,
                        auth=_route_auth(api_id, event_properties),
                    )
                )
            elif event["Type"] == "SQS":
                queue_events.append(event_properties)
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                schedules.append(event_properties)
        layers = [*globals_.get("Layers", []), *properties.get("Layers", [])]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=REPO_ROOT / properties["CodeUri"],
            module=module,
            handler=handler,
            timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
            environment=environment,
            routes=tuple(routes),
            queue_events=tuple(queue_events),
            schedules=tuple(schedules),
            layers=tuple(layer["Ref"] for layer in layers),
        )
    return specs


def _route_auth(api_id: str, event_properties: Mapping[str, Any]) -> str:
    authorizer = event_properties.get("Auth", {}).get("Authorizer")
    if authorizer is None:
        authorizer = load_template()["Resources"][api_id]["Properties"]["Auth"]["DefaultAuthorizer"]
    if authorizer == "NONE":
        return NO_AUTH
    return IAM_AUTH if authorizer == "AWS_IAM" else SESSION_AUTH


def api_ids() -> list[str]:
    return sorted(resources("AWS::Serverless::Api"))


def routes() -> list[Route]:
    return [route for spec in functions().values() for route in spec.routes]


_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z]+))?\}")


def resolve(value: Any, refs: Mapping[str, str], attributes: Mapping[str, str]) -> Any:
    """Resolve !Ref, !GetAtt and !Sub against local physical names.

    `refs` maps a logical id to what !Ref gives (table name, queue URL, secret
    id); `attributes` maps "LogicalId.Attribute" to what !GetAtt gives.
    """
    if isinstance(value, Mapping):
        if "Ref" in value:
            return refs[value["Ref"]]
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return attributes[f"{logical_id}.{attribute}"]
        if "Fn::Sub" in value:
            return _SUB_REFERENCE.sub(
                lambda match: (
                    attributes[f"{match.group(1)}.{match.group(2)}"]
                    if match.group(2)
                    else refs[match.group(1)]
                ),
                value["Fn::Sub"],
            )
        return {key: resolve(inner, refs, attributes) for key, inner in value.items()}
    if isinstance(value, list):
        return [resolve(inner, refs, attributes) for inner in value]
    return value


def function_environment(
    logical_id: str, refs: Mapping[str, str], attributes: Mapping[str, str]
) -> dict[str, str]:
    environment = functions()[logical_id].environment
    return {name: str(resolve(value, refs, attributes)) for name, value in environment.items()}


def placeholder_environment(logical_id: str) -> dict[str, str]:
    """The function's environment with stand-in names, for import checks."""
    document = load_template()
    refs = {name: f"local-{name}" for name in document["Resources"]}
    refs |= {name: str(p.get("Default", "")) for name, p in document.get("Parameters", {}).items()}
    refs |= {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    attributes = _AnyAttribute()
    return function_environment(logical_id, refs, attributes)


class _AnyAttribute(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"local-{key}"


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None  # None keeps the status of the error it replaces
    body: str


@dataclass(frozen=True)
class ApiSettings:
    """What API Gateway does before a handler runs, as template.yaml declares it."""

    stage: str
    gateway_responses: Mapping[str, GatewayResponse]
    # The Lambda authorizer, where the API's default authorizer is one.
    authorizer_function: str | None = None
    identity_header: str = ""
    cache_seconds: int = 0
    validation_expression: str | None = None


def api_settings(refs: Mapping[str, str], api_id: str = "CashierApi") -> ApiSettings:
    properties = load_template()["Resources"][api_id]["Properties"]
    auth = properties["Auth"]
    responses = {
        kind: GatewayResponse(
            status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
            body=spec["ResponseTemplates"]["application/json"],
        )
        for kind, spec in properties.get("GatewayResponses", {}).items()
    }
    stage = str(resolve(properties["StageName"], refs, {}))
    authorizer = auth.get("Authorizers", {}).get(auth["DefaultAuthorizer"])
    if authorizer is None:  # AWS_IAM: no function runs before the handler
        return ApiSettings(stage=stage, gateway_responses=responses)
    identity = authorizer["Identity"]
    return ApiSettings(
        stage=stage,
        gateway_responses=responses,
        authorizer_function=authorizer["FunctionArn"]["Fn::GetAtt"][0],
        identity_header=identity["Header"],
        cache_seconds=int(resolve(identity.get("ReauthorizeEvery", 300), refs, {})),
        validation_expression=identity.get("ValidationExpression"),
    )
