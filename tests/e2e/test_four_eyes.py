"""Four-eyes approval over real HTTP against the local stack: the seed's
brand-beta needs a second approver above 10000 JPY. One operator cannot
complete an approval alone; two can; the audit trail shows both."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_walkthroughs import balances
from tests.support.http import Answer

pytestmark = pytest.mark.e2e
ROLE = "arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator"
FIRST, SECOND = f"{ROLE}/ops-e2e-first", f"{ROLE}/ops-e2e-second"


def hold(stack: LocalStack, amount: str) -> str:
    answer = stack.http.post(
        "/cashier/withdrawal",
        token=stack.token("dan (JPY)"),
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"},
        body={"account_id": "acc-dan-jpy", "amount": amount, "currency": "JPY"},
    )
    assert answer.status == 201, answer.body
    return str(answer.json()["transaction"]["transaction_id"])


def approve(stack: LocalStack, transaction_id: str, principal: str) -> Answer:
    return stack.http.post(
        f"/backoffice/withdrawals/{transaction_id}/approve",
        headers={"X-Cashier-Dev-Principal": principal},
        body={"payout_reference": f"PO-{principal[-6:]}"},
    )


def audit_principals(stack: LocalStack, transaction_id: str) -> list[tuple[str, str]]:
    items = stack.aws("dynamodb").query(
        TableName=stack.resources["tables"]["AuditTable"],
        KeyConditionExpression="subject_id = :s",
        ExpressionAttributeValues={":s": {"S": transaction_id}},
        ConsistentRead=True,
    )["Items"]
    return sorted((i["principal"]["S"], i["status_after"]["N"]) for i in items)


def test_one_operator_cannot_complete_a_large_payout_alone_two_can(stack: LocalStack) -> None:
    before = balances(stack)["acc-dan-jpy"][0]
    withdrawal = hold(stack, "12000")

    first = approve(stack, withdrawal, FIRST)
    assert first.status == 200, first.body
    shown = first.json()["transaction"]
    assert (shown["status_name"], shown["first_approved_by"]) == ("manual_review", FIRST)
    listed = stack.http.get(
        "/backoffice/withdrawals",
        headers={"X-Cashier-Dev-Principal": SECOND},
        query={"brand_id": "brand-beta"},
    ).json()["withdrawals"]
    [waiting] = [w for w in listed if w["transaction_id"] == withdrawal]
    assert waiting["awaiting_second_approval"] is True

    alone = approve(stack, withdrawal, FIRST)
    assert (alone.status, alone.code) == (409, "second_approver_required")

    second = approve(stack, withdrawal, SECOND)
    assert second.status == 200, second.body
    assert second.json()["transaction"]["status_name"] == "provider_confirmed"
    assert audit_principals(stack, withdrawal) == sorted([(FIRST, "9"), (SECOND, "2")])
    assert balances(stack)["acc-dan-jpy"][0] == before - Decimal(12000)


def test_at_the_threshold_one_approval_pays_out(stack: LocalStack) -> None:
    withdrawal = hold(stack, "10000")
    answer = approve(stack, withdrawal, FIRST)
    assert answer.json()["transaction"]["status_name"] == "provider_confirmed"


def test_two_approvers_at_once_complete_it_exactly_once(stack: LocalStack) -> None:
    withdrawal = hold(stack, "11000")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda who: approve(stack, withdrawal, who), [FIRST, SECOND]))
    assert [a.status for a in answers] == [200, 200], [a.body for a in answers]
    statuses = sorted(a.json()["transaction"]["status_name"] for a in answers)
    assert statuses == ["manual_review", "provider_confirmed"]
    assert [after for _, after in audit_principals(stack, withdrawal)].count("2") == 1
    assert {k: v for k, v in balances(stack).items() if v[0] != v[1]} == {}
