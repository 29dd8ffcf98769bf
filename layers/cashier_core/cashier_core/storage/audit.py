"""BackOffice audit records, written in the same transaction as the change they explain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cashier_core.models import AuditRecord, StatusChange, Transaction
from cashier_core.storage.codec import to_item


@dataclass(frozen=True, slots=True)
class AuditNote:
    """A BackOffice action, recorded with the status change it causes."""

    action: str
    principal: str
    reason: str
    details: Mapping[str, str] | None = None
    operator: str | None = None  # the person (AuditRecord.operator)


def audit_put(
    table: str, transaction: Transaction, change: StatusChange, note: AuditNote
) -> dict[str, Any]:
    """The append-only record of `note` acting on `transaction` as read; its id is
    fixed by the version acted on, so a retried action is never recorded twice."""
    record = AuditRecord(
        subject_id=transaction.transaction_id,
        audit_id=AuditRecord.id_for_change(transaction.version, note.action),
        action=note.action,
        principal=note.principal,
        operator=note.operator,
        reason=note.reason,
        at=change.at,
        status_before=transaction.status,
        status_after=change.status,
        details=dict(note.details) if note.details else None,
    )
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(record),
            "ConditionExpression": "attribute_not_exists(audit_id)",
        }
    }
