"""A Move as a DynamoDB update: the transition table turned into a condition.

Every status change is one conditional update of the transaction item whose
condition names the type, the statuses the Move may come from (never wider than
the table allows), the version the decision was made on, and, when money moves,
the amount, currency, account and customer the ledger entry is written for.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cashier_core.lifecycle import Move
from cashier_core.models import StatusChange, Transaction
from cashier_core.statuses import ALLOWED_SOURCES, Status, TransactionType, is_work
from cashier_core.storage.codec import serialize_value
from cashier_core.storage.conventions import format_timestamp

# Fields a status change may set besides the status itself. Identity and money
# fields are written once, at creation.
MUTABLE_FIELDS: Final = frozenset(
    {
        "provider_reference",
        "redirect_url",
        "instructions",
        "provider_amount",
        "provider_currency",
        "first_approved_by",
        "payout_route",
    }
)

# The work-queue index's partition key is spread over this many shards per
# (type, status), so no key carries more than its share of writes
# (docs/capacity.md has the arithmetic). Readers query every shard.
WORK_SHARDS: Final = 16
WORK_KEY: Final = "work_key"
# The index this replaced; its attribute is dropped whenever an item is written.
LEGACY_WORK_STATUS: Final = "work_status"


def work_key(transaction_type: TransactionType, status: Status, shard: int) -> str:
    return f"{transaction_type.value}#{int(status)}#{shard:02d}"


def work_shard(transaction_id: str) -> int:
    # crc32, not hash(): the same on every container and every Python.
    return zlib.crc32(transaction_id.encode("utf-8")) % WORK_SHARDS


def work_key_of(
    transaction_type: TransactionType, status: Status, transaction_id: str
) -> str | None:
    """The item's work-queue key, or None when nobody has to act on it."""
    if not is_work(transaction_type, status):
        return None
    return work_key(transaction_type, status, work_shard(transaction_id))


def n(value: object) -> dict[str, str]:
    return {"N": str(value)}


def s(value: str) -> dict[str, str]:
    return {"S": value}


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    update_expression: str
    condition_expression: str
    names: dict[str, str]
    values: dict[str, Any]
    change: StatusChange

    def as_transact_update(self, table: str, transaction_id: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": table,
                "Key": {"transaction_id": s(transaction_id)},
                "UpdateExpression": self.update_expression,
                "ConditionExpression": self.condition_expression,
                "ExpressionAttributeNames": self.names,
                "ExpressionAttributeValues": self.values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }


def status_update(
    transaction: Transaction, move: Move, *, source: str, at: datetime
) -> StatusUpdate:
    """The update that writes `move` onto `transaction` as it was read."""
    target = move.target
    if target is None or not move.writes:
        raise ValueError("only an applied move with a target is written")
    allowed = ALLOWED_SOURCES[transaction.type][target]
    if not move.sources or not move.sources <= allowed:
        raise ValueError(
            f"{sorted(s.api_name for s in move.sources)} -> {target.api_name} "
            f"is wider than the table allows for a {transaction.type}"
        )
    money = move.money
    change = StatusChange(
        status=target,
        at=at,
        reason=move.note,
        source=source,
        code=move.code,
        money_effect=money.effect if money else None,
        money_amount=money.amount if money else None,
        money_reference=money.reference if money else None,
        money_returns=money.returns if money else None,
        money_to_source=money.to_source if money else None,
        money_before_credit=money.before_credit if money else None,
        money_occurred_at=money.occurred_at if money else None,
        money_failed_first=money.failed_first if money else None,
        money_total=money.total if money else None,
    )
    names = {
        "#status": "status",
        "#type": "type",
        "#history": "history",
        "#version": "version",
        "#updated_at": "updated_at",
        "#work_key": WORK_KEY,
        "#legacy_work": LEGACY_WORK_STATUS,
    }
    values: dict[str, Any] = {
        ":target": n(int(target)),
        ":now": s(format_timestamp(at)),
        ":entry": {"L": [serialize_value(change)]},
        ":one": n(1),
        ":type": s(transaction.type.value),
        ":expected_version": n(transaction.version),
    }
    placeholders = []
    for index, status in enumerate(sorted(move.sources)):
        values[f":from_{index}"] = n(int(status))
        placeholders.append(f":from_{index}")
    conditions = [
        "#type = :type",
        f"#status IN ({', '.join(placeholders)})",
        "#version = :expected_version",
    ]
    if move.ledger is not None:
        # The money of the entry is the stored transaction's: pin it in the write.
        for attribute, pinned in (
            ("amount", n(transaction.amount)),
            ("currency", s(transaction.currency)),
            ("account_id", s(transaction.account_id)),
            ("customer_id", s(transaction.customer_id)),
        ):
            names[f"#{attribute}"] = attribute
            values[f":pin_{attribute}"] = pinned
            conditions.append(f"#{attribute} = :pin_{attribute}")

    _counted_flag(move, names, values, conditions)

    sets = [
        "#status = :target",
        "#updated_at = :now",
        "#history = list_append(#history, :entry)",
        "#version = #version + :one",
    ]
    if move.release_counted or move.recount_counted:
        sets.append(
            f"#counted_released = {':released' if move.release_counted else ':not_released'}"
        )
    removes = ["#legacy_work"]
    key = work_key_of(transaction.type, target, transaction.transaction_id)
    if key is not None:
        values[":work_key"] = s(key)
        sets.append("#work_key = :work_key")
    else:
        removes.append("#work_key")
    for index, (field_name, value) in enumerate(move.set_fields.items()):
        if field_name not in MUTABLE_FIELDS:
            raise ValueError(f"{field_name} is not changed by a status change")
        if value is None:
            continue
        names[f"#set_{index}"] = field_name
        values[f":set_{index}"] = serialize_value(value)
        sets.append(f"#set_{index} = :set_{index}")
    expression = "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes)
    return StatusUpdate(expression, " AND ".join(conditions), names, values, change)


def _counted_flag(
    move: Move, names: dict[str, str], values: dict[str, Any], conditions: list[str]
) -> None:
    """The deposit-limit flag's condition: a release happens once (the flag is
    set by the change that releases, and checked), and a recount happens only
    to a released deposit (the change that counts it again clears the flag)."""
    if not (move.release_counted or move.recount_counted):
        return
    names["#counted_released"] = "counted_released"
    values[":released"] = {"BOOL": True}
    if move.release_counted:
        conditions.append(
            "(attribute_not_exists(#counted_released) OR #counted_released <> :released)"
        )
    else:
        values[":not_released"] = {"BOOL": False}
        conditions.append("#counted_released = :released")


def after(transaction: Transaction, update: StatusUpdate, move: Move) -> Transaction:
    """The transaction as a version-pinned change has just written it."""
    changes: dict[str, object] = {
        "status": update.change.status,
        "updated_at": update.change.at,
        "history": (*transaction.history, update.change),
        "version": transaction.version + 1,
    }
    changes.update({k: v for k, v in move.set_fields.items() if v is not None})
    if move.release_counted:
        changes["counted_released"] = True
    if move.recount_counted:
        changes["counted_released"] = False
    return transaction.model_validate({**transaction.model_dump(), **changes})
