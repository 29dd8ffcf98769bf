"""The audit trail is append-only in code too: every put our storage sends to
the audit table is conditional on the record being new (the table's resource
policy denies updates and deletes to everyone, tests/unit/test_template.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cashier_core.backoffice import Operator
from cashier_core.models import AuditRecord, StatusChange, Transaction
from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.audit import AuditNote, audit_put
from cashier_core.storage.records import AuditStore

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NEW_ONLY = "attribute_not_exists(audit_id)"


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_item", kwargs))
        return {}


def test_an_audit_record_written_with_a_change_is_put_only_if_new() -> None:
    transaction = Transaction(
        transaction_id="wd-1", type=TransactionType.WITHDRAWAL, customer_id="cus-alice",
        account_id="acc", brand_id="brand-alpha", amount=Decimal("10.00"), currency="USD",
        status=Status.MANUAL_REVIEW, created_at=T0, updated_at=T0,
        history=(StatusChange(status=Status.MANUAL_REVIEW, at=T0, reason="r", source="s"),),
        version=1,
    )  # fmt: skip
    change = StatusChange(status=Status.CANCELLED, at=T0, reason="r", source="s")
    note = AuditNote(
        "reject_withdrawal", "arn:aws:sts::1:assumed-role/r/ops-alice", "no", operator="ops-alice"
    )
    put = audit_put("audit", transaction, change, note)["Put"]
    assert put["ConditionExpression"] == NEW_ONLY
    assert put["Item"]["operator"] == {"S": "ops-alice"}


def test_an_audit_record_appended_alone_is_put_only_if_new() -> None:
    client = RecordingClient()
    store = AuditStore(client, "audit")  # type: ignore[arg-type]
    store.append(
        AuditRecord(subject_id="acc", audit_id="reconcile#1", action="reconcile_account",
                    principal="arn", operator="ops-alice", reason="check", at=T0)
    )  # fmt: skip
    [(operation, request)] = client.calls
    assert operation == "put_item"
    assert request["ConditionExpression"] == NEW_ONLY


@pytest.mark.parametrize(
    ("principal", "identity"),
    [
        ("arn:aws:sts::123456789012:assumed-role/cashier-backoffice-operator/alice@example.com", "alice@example.com"),
        ("arn:aws:sts::123456789012:assumed-role/cashier-backoffice-reviewer/bob", "bob"),
        ("arn:aws:iam::123456789012:user/ops/carol", "carol"),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
    ],
)  # fmt: skip
def test_the_operator_recorded_is_the_person_behind_the_principal(
    principal: str, identity: str
) -> None:
    assert Operator(principal).identity == identity
