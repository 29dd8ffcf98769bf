"""template.yaml keeps the promises the README makes about it."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from cashier_core.storage import tables
from cashier_local import template

DOC = template.load_template()
RESOURCES: dict[str, Any] = DOC["Resources"]
GLOBALS = DOC["Globals"]["Function"]
FUNCTIONS = template.functions()
MONEY_TABLES = [
    "TransactionsTable",
    "AccountsTable",
    "CustomersTable",
    "ProviderConfigsTable",
    "AuditTable",
]


def test_the_five_public_routes_and_only_the_webhook_is_unauthenticated() -> None:
    public = [r for r in template.routes() if r.api_id == "CashierApi"]
    assert {(r.method, r.path, r.authorized) for r in public} == {
        ("GET", "/cashier/methods", True),
        ("POST", "/cashier/deposit", True),
        ("POST", "/cashier/withdrawal", True),
        ("GET", "/cashier/transactions", True),
        ("POST", "/cashier/webhook/{provider}", False),
    }
    api = RESOURCES["CashierApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "SessionAuthorizer"


def test_each_route_has_its_own_function() -> None:
    route_functions = [r.function_id for r in template.routes()]
    assert len(route_functions) == len(set(route_functions))


def test_functions_run_python_3_13_on_arm64_with_the_layer() -> None:
    assert GLOBALS["Runtime"] == "python3.13"
    assert GLOBALS["Architectures"] == ["arm64"]
    assert GLOBALS["Layers"] == [{"Ref": "CashierCoreLayer"}]
    for resource in template.resources(template.FUNCTION_TYPE).values():
        assert "Runtime" not in resource["Properties"]
        assert "Architectures" not in resource["Properties"]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_every_function_folder_has_app_lambda_handler(function_id: str) -> None:
    spec = FUNCTIONS[function_id]
    assert (spec.module, spec.handler) == ("app", "lambda_handler")
    source = (spec.code_dir / "app.py").read_text()
    names = {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
    assert "lambda_handler" in names


@pytest.mark.parametrize(
    ("layer_id", "content_uri"),
    [("CashierCoreLayer", "layers/cashier_core/"), ("ProvidersLayer", "providers/")],
)
def test_each_layer_is_built_by_its_makefile_for_the_functions_runtime(
    layer_id: str, content_uri: str
) -> None:
    layer = RESOURCES[layer_id]
    runtime, (architecture,) = GLOBALS["Runtime"], GLOBALS["Architectures"]
    assert layer["Properties"]["ContentUri"] == content_uri
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": architecture}
    makefile = (template.REPO_ROOT / content_uri / "Makefile").read_text()
    assert f"build-{layer_id}:" in makefile
    # The shared recipe fetches wheels for, and compiles with, that same runtime.
    recipe = (template.REPO_ROOT / "layers" / "python-layer.mk").read_text()
    version = runtime.removeprefix("python")
    assert f"LAYER_PYTHON ?= {runtime}" in recipe
    assert f"--python-version {version}" in recipe
    assert {"arm64": "aarch64", "x86_64": "x86_64"}[architecture] in recipe


@pytest.mark.parametrize("table_id", MONEY_TABLES)
def test_money_tables_are_on_demand_recoverable_encrypted_and_retained(table_id: str) -> None:
    resource = RESOURCES[table_id]
    properties = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True


def test_storage_index_names_are_the_templates() -> None:
    indexes = {
        index["IndexName"]
        for index in RESOURCES["TransactionsTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        tables.BY_CUSTOMER_INDEX,
        tables.BY_ACCOUNT_INDEX,
        tables.BY_PROVIDER_REFERENCE_INDEX,
        tables.BY_WORK_KEY_INDEX,
    }


def test_ttl_attributes_match_their_readers() -> None:
    assert template.ttl_attribute("SessionsTable") == tables.TTL_ATTRIBUTE
    # Powertools' DynamoDBPersistenceLayer default expiry attribute.
    assert template.ttl_attribute("IdempotencyTable") == "expiration"


def test_credit_queue_retries_then_dead_letters_with_an_alarm() -> None:
    queue = RESOURCES["CreditQueue"]["Properties"]
    worker = FUNCTIONS["CreditWorkerFunction"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["CreditDeadLetterQueue", "Arn"]
    }
    assert queue["VisibilityTimeout"] >= 6 * worker.timeout
    [event] = worker.queue_events
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    alarm = RESOURCES["CreditDeadLetterQueueDepthAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["CreditDeadLetterQueue", "QueueName"]}
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"


def _statements(function_id: str) -> list[dict[str, Any]]:
    policies = RESOURCES[function_id]["Properties"].get("Policies", [])
    return [statement for policy in policies for statement in policy["Statement"]]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_policies_are_explicit_and_least_privilege(function_id: str) -> None:
    for policy in RESOURCES[function_id]["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            "inline statements only: SAM policy templates grant more than a function needs"
        )
    for statement in _statements(function_id):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert all("*" not in action for action in actions)
        assert all(resource != "*" for resource in resources)
        assert not {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:BatchWriteItem"} & set(
            actions
        )


def test_the_authorizer_can_only_read_sessions() -> None:
    assert _statements("SessionAuthorizerFunction") == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": {"Fn::GetAtt": ["SessionsTable", "Arn"]},
        }
    ]


def test_no_secret_value_is_written_in_the_template() -> None:
    for resource in template.resources(template.SECRET_TYPE).values():
        assert "SecretString" not in resource["Properties"]
        assert "GenerateSecretString" in resource["Properties"]


def test_backoffice_routes_are_their_own_iam_api_and_only_the_named_role_gets_in() -> None:
    backoffice = [r for r in template.routes() if r.api_id == "BackOfficeApi"]
    assert len(backoffice) == 9
    assert {r.auth for r in backoffice} == {template.IAM_AUTH}
    assert all(r.path.startswith("/backoffice/") for r in backoffice)
    assert not [
        r for r in template.routes() if r.path.startswith("/backoffice/") and r not in backoffice
    ]
    auth = RESOURCES["BackOfficeApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AWS_IAM"
    assert auth["InvokeRole"] == "NONE"  # else SAM invokes with the caller's credentials
    [deny, allow] = auth["ResourcePolicy"]["CustomStatements"]
    role_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${BackOfficeRoleName}"
    }
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": role_arn}
    }
    assert allow["Effect"] == "Allow" and allow["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": role_arn}
    }
    role = RESOURCES["BackOfficeOperatorRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "BackOfficeRoleName"}
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"


def test_the_audit_trail_is_append_only() -> None:
    audit_arn = {"Fn::GetAtt": ["AuditTable", "Arn"]}
    for function_id in FUNCTIONS:
        for statement in _statements(function_id):
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if audit_arn in resources:
                assert statement["Action"] == "dynamodb:PutItem", function_id


def test_webhook_deliveries_are_indexed_by_transaction_for_backoffice() -> None:
    [index] = RESOURCES["WebhookDeliveriesTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == tables.BY_TRANSACTION_INDEX


def _sends_to_credit_queue(logical_id: str) -> bool:
    for policy in RESOURCES[logical_id]["Properties"].get("Policies", []):
        if not isinstance(policy, dict):
            continue
        for statement in policy.get("Statement", []):
            if statement.get("Action") == "sqs:SendMessage" and "CreditQueue" in str(
                statement.get("Resource")
            ):
                return True
    return False


def test_only_our_own_senders_may_put_a_credit_message() -> None:
    """The queue's policy denies SendMessage to every principal but the functions
    whose own policies send to it, and the redrive role when one is given."""
    statement = RESOURCES["CreditQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "sqs:SendMessage",
    )
    allowed = statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    admitted = {".".join(arn["Fn::GetAtt"]) for arn in allowed if "Fn::GetAtt" in arn}
    senders = {f"{fid}Role.Arn" for fid in FUNCTIONS if _sends_to_credit_queue(fid)}
    assert senders, "some function must send credit messages"
    assert admitted == senders
    [redrive] = [arn for arn in allowed if "Fn::If" in arn]
    assert redrive["Fn::If"][0] == "HasCreditQueueRedriveRole"
