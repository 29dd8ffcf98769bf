"""The transactions table and every balance movement.

Two rules hold here and nowhere else:
- a status change is one conditional write whose condition is "the current
  status is an allowed source of the target" (statuses.ALLOWED_SOURCES);
- a balance movement is one TransactWriteItems of the status change, the
  account's ADD and the ledger entry with its deterministic id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

from botocore.exceptions import ClientError

from cashier_core.clock import utc_now
from cashier_core.errors import (
    AccountClosed,
    AccountCurrencyMismatch,
    AccountNotFound,
    AlreadyApplied,
    CashierError,
    DuplicateDelivery,
    InsufficientFunds,
    InvalidPageSize,
    RetryableConflict,
    TransactionNotFound,
    TransitionRefused,
)
from cashier_core.models import (
    AccountStatus,
    AuditRecord,
    LedgerEntry,
    LedgerKind,
    StatusChange,
    TradingAccount,
    Transaction,
    WebhookDelivery,
)
from cashier_core.statuses import (
    ALLOWED_SOURCES,
    WORK_QUEUE_STATUSES,
    Status,
    TransactionType,
)
from cashier_core.storage.codec import (
    Item,
    from_item,
    serialize_value,
    to_item,
)
from cashier_core.storage.conventions import RETRYABLE_CODES, format_timestamp, raise_storage_error
from cashier_core.storage.cursor import CursorCodec
from cashier_core.storage.tables import (
    ACCOUNT_SORT_KEY,
    BY_ACCOUNT_INDEX,
    BY_CUSTOMER_INDEX,
    BY_PROVIDER_REFERENCE_INDEX,
    BY_TRANSACTION_INDEX,
    BY_WORK_STATUS_INDEX,
    LEDGER_SORT_PREFIX,
    TTL_ATTRIBUTE,
    TableNames,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Fields a status change may set besides the status itself. Identity and money
# fields are written once, at creation.
MUTABLE_FIELDS: Final = frozenset({"provider_reference", "redirect_url", "instructions"})

MAX_PAGE_SIZE: Final = 100
# Longer than any provider's retry window (Adyen retries for up to 30 days).
DELIVERY_RETENTION_SECONDS: Final = 35 * 24 * 60 * 60
# A filtered history query reads at most this many DynamoDB pages per request;
# past that it returns a short page with a cursor rather than scanning on.
MAX_QUERY_ROUNDS: Final = 10


def _n(value: object) -> dict[str, str]:
    return {"N": str(value)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A customer's own history; every other field narrows it."""

    customer_id: str
    account_id: str | None = None
    type: TransactionType | None = None
    status: Status | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def cursor_context(self) -> str:
        """What a cursor is bound to: this customer and exactly these filters."""
        return json.dumps(
            {
                "customer_id": self.customer_id,
                "account_id": self.account_id,
                "type": self.type.value if self.type else None,
                "status": int(self.status) if self.status is not None else None,
                "from": format_timestamp(self.created_from) if self.created_from else None,
                "to": format_timestamp(self.created_to) if self.created_to else None,
            },
            sort_keys=True,
        )


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Transaction]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AuditNote:
    """A BackOffice action, recorded with the status change it causes."""

    action: str
    principal: str
    reason: str
    details: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class WorkQueueQuery:
    """What an operator lists: one waiting status, one type, optionally one brand."""

    status: Status
    type: TransactionType
    updated_before: datetime
    brand_id: str | None = None

    def cursor_context(self) -> str:
        # Not the moment: the next page is asked for later, and resuming after
        # the cursor's key with a later bound only lets newer waiters join the end.
        return json.dumps(
            {"work_queue": int(self.status), "type": self.type.value, "brand_id": self.brand_id},
            sort_keys=True,
        )


@dataclass(frozen=True, slots=True)
class _StatusUpdate:
    update_expression: str
    condition_expression: str
    names: dict[str, str]
    values: dict[str, Any]
    change: StatusChange


def _source_condition(
    target: Status, only_from: frozenset[Status] | None, values: dict[str, Any]
) -> str:
    """`(type is T and status in sources(T)) or ...` over both transaction types."""
    clauses = []
    for transaction_type, table in ALLOWED_SOURCES.items():
        sources = table[target] if only_from is None else table[target] & only_from
        if not sources:
            continue
        placeholders = []
        for source_status in sorted(sources):
            placeholder = f":from_{transaction_type.value}_{int(source_status)}"
            values[placeholder] = _n(int(source_status))
            placeholders.append(placeholder)
        values[f":type_{transaction_type.value}"] = _s(transaction_type.value)
        clauses.append(
            f"#type = :type_{transaction_type.value} AND #status IN ({', '.join(placeholders)})"
        )
    if not clauses:
        raise ValueError(f"no transaction may move to {target.api_name} from {only_from}")
    # DynamoDB refuses redundant parentheses, so add only those precedence needs.
    if len(clauses) == 1:
        return clauses[0]
    return " OR ".join(f"({clause})" for clause in clauses)


def _status_update(
    target: Status,
    *,
    reason: str,
    source: str,
    at: datetime,
    only_from: frozenset[Status] | None = None,
    expected_version: int | None = None,
    set_fields: Mapping[str, object] | None = None,
) -> _StatusUpdate:
    """The expressions that move a transaction to `target`, guarded by the table.

    The condition covers both transaction types, so no read is needed to know
    which row of the table applies. `only_from` narrows the sources, never widens.
    """
    change = StatusChange(status=target, at=at, reason=reason, source=source)
    names = {
        "#status": "status",
        "#type": "type",
        "#history": "history",
        "#version": "version",
        "#updated_at": "updated_at",
        "#work_status": "work_status",
    }
    values: dict[str, Any] = {
        ":target": _n(int(target)),
        ":now": _s(format_timestamp(at)),
        ":entry": {"L": [serialize_value(change)]},
        ":one": _n(1),
    }
    condition = _source_condition(target, only_from, values)
    if expected_version is not None:
        if " OR " in condition:
            condition = f"({condition})"
        condition += " AND #version = :expected_version"
        values[":expected_version"] = _n(expected_version)

    sets = [
        "#status = :target",
        "#updated_at = :now",
        "#history = list_append(#history, :entry)",
        "#version = #version + :one",
    ]
    removes = []
    if target in WORK_QUEUE_STATUSES:
        sets.append("#work_status = :target")
    else:
        removes.append("#work_status")
    for index, (field, value) in enumerate((set_fields or {}).items()):
        if field not in MUTABLE_FIELDS:
            raise ValueError(f"{field} is not changed by a status change")
        if value is None:
            continue
        names[f"#set_{index}"] = field
        values[f":set_{index}"] = serialize_value(value)
        sets.append(f"#set_{index} = :set_{index}")
    expression = "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return _StatusUpdate(expression, condition, names, values, change)


@dataclass(frozen=True, slots=True)
class _AccountRules:
    require_open: bool
    require_cover: bool


# What each kind of movement asks of the account. A reversal must land even on
# a closed or short account: the money already left through the provider.
_ACCOUNT_RULES: Final = {
    LedgerKind.CREDIT: _AccountRules(require_open=True, require_cover=False),
    LedgerKind.WITHDRAWAL_HOLD: _AccountRules(require_open=True, require_cover=True),
    LedgerKind.HOLD_RELEASE: _AccountRules(require_open=False, require_cover=False),
    LedgerKind.REVERSAL: _AccountRules(require_open=False, require_cover=False),
}


def _item_at_failure(error: ClientError) -> Item | None:
    """The item DynamoDB returned with ReturnValuesOnConditionCheckFailure=ALL_OLD."""
    item = cast(Mapping[str, Any], error.response).get("Item")
    return dict(item) if isinstance(item, Mapping) else None


class TransactionStore:
    def __init__(
        self,
        client: DynamoDBClient,
        tables: TableNames,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._tables = tables
        self._clock = clock

    # --- reads -----------------------------------------------------------
    def get(self, transaction_id: str) -> Transaction:
        try:
            response = self._client.get_item(
                TableName=self._tables.transactions,
                Key={"transaction_id": _s(transaction_id)},
                ConsistentRead=True,
            )
        except ClientError as error:
            raise_storage_error(error)
        if "Item" not in response:
            raise TransactionNotFound()
        return from_item(Transaction, response["Item"])

    def get_for_customer(self, customer_id: str, transaction_id: str) -> Transaction:
        """Another customer's transaction answers exactly as a missing one."""
        transaction = self.get(transaction_id)
        if transaction.customer_id != customer_id:
            raise TransactionNotFound()
        return transaction

    def find_by_provider_reference(self, provider: str, reference: str) -> Transaction | None:
        response = self._client.query(
            TableName=self._tables.transactions,
            IndexName=BY_PROVIDER_REFERENCE_INDEX,
            KeyConditionExpression="provider_reference = :reference AND #provider = :provider",
            ExpressionAttributeNames={"#provider": "provider"},
            ExpressionAttributeValues={":reference": _s(reference), ":provider": _s(provider)},
        )
        items = response.get("Items", [])
        return from_item(Transaction, items[0]) if items else None

    def list_history(
        self,
        query: HistoryQuery,
        *,
        codec: CursorCodec,
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        """The customer's transactions, newest first, filtered, one page at a time."""
        request, hash_name = self._history_request(query, limit)
        key_types = {hash_name: "S", "created_at": "S", "transaction_id": "S"}
        return self._page(
            request,
            cursor,
            limit=limit,
            context=query.cursor_context(),
            codec=codec,
            key_types=key_types,
        )

    def _history_request(self, query: HistoryQuery, limit: int) -> tuple[dict[str, Any], str]:
        """The Query for one page of history, and the name of its hash key."""
        if query.account_id is not None:
            index, hash_name, hash_value = BY_ACCOUNT_INDEX, "account_id", query.account_id
        else:
            index, hash_name, hash_value = BY_CUSTOMER_INDEX, "customer_id", query.customer_id
        names = {"#hash": hash_name}
        values: dict[str, Any] = {":hash": _s(hash_value)}
        key_condition = "#hash = :hash"
        bounds = []
        if query.created_from is not None:
            bounds.append("#created_at >= :from")
            values[":from"] = _s(format_timestamp(query.created_from))
        if query.created_to is not None:
            bounds.append("#created_at <= :to")
            values[":to"] = _s(format_timestamp(query.created_to))
        if bounds:
            names["#created_at"] = "created_at"
            key_condition += " AND " + (
                "#created_at BETWEEN :from AND :to" if len(bounds) == 2 else bounds[0]
            )

        filters = []
        equalities: list[tuple[str, str, dict[str, str]]] = []
        if query.account_id is not None:
            # The account index is shared by all customers: ownership is a filter.
            equalities.append(("customer_id", ":customer_id", _s(query.customer_id)))
        if query.type is not None:
            equalities.append(("type", ":type", _s(query.type.value)))
        if query.status is not None:
            equalities.append(("status", ":status", _n(int(query.status))))
        for attribute, placeholder, value in equalities:
            names[f"#{attribute}"] = attribute
            values[placeholder] = value
            filters.append(f"#{attribute} = {placeholder}")

        request: dict[str, Any] = {
            "TableName": self._tables.transactions,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        return request, hash_name

    def list_in_work_status(
        self, status: Status, *, updated_before: datetime, page_size: int = 100
    ) -> Iterator[Transaction]:
        """Transactions waiting in `status` since before a moment, oldest first."""
        if status not in WORK_QUEUE_STATUSES:
            raise ValueError(f"{status.api_name} is not kept in the work-queue index")
        request: dict[str, Any] = {
            "TableName": self._tables.transactions,
            "IndexName": BY_WORK_STATUS_INDEX,
            "KeyConditionExpression": "work_status = :status AND updated_at < :before",
            "ExpressionAttributeValues": {
                ":status": _n(int(status)),
                ":before": _s(format_timestamp(updated_before)),
            },
            "Limit": page_size,
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                yield from_item(Transaction, item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def work_queue_page(
        self,
        query: WorkQueueQuery,
        *,
        codec: CursorCodec,
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        """What waits for an operator, longest-waiting first, one page at a time."""
        if query.status not in WORK_QUEUE_STATUSES:
            raise ValueError(f"{query.status.api_name} is not kept in the work-queue index")
        names = {"#type": "type"}
        values: dict[str, Any] = {
            ":status": _n(int(query.status)),
            ":before": _s(format_timestamp(query.updated_before)),
            ":type": _s(query.type.value),
        }
        filters = ["#type = :type"]
        if query.brand_id is not None:
            names["#brand_id"] = "brand_id"
            values[":brand_id"] = _s(query.brand_id)
            filters.append("#brand_id = :brand_id")
        request: dict[str, Any] = {
            "TableName": self._tables.transactions,
            "IndexName": BY_WORK_STATUS_INDEX,
            "KeyConditionExpression": "work_status = :status AND updated_at < :before",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        key_types = {"work_status": "N", "updated_at": "S", "transaction_id": "S"}
        return self._page(
            request,
            cursor,
            limit=limit,
            context=query.cursor_context(),
            codec=codec,
            key_types=key_types,
        )

    def _page(
        self,
        request: dict[str, Any],
        cursor: str | None,
        *,
        limit: int,
        context: str,
        codec: CursorCodec,
        key_types: Mapping[str, str],
    ) -> Page:
        """Up to `limit` items of a filtered Query, and a cursor where more may follow.
        `key_types` names the index's and the table's key attributes and their types.
        The page size and the cursor (bound to `context`) are checked before any query."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidPageSize(f"limit must be between 1 and {MAX_PAGE_SIZE}.")
        start_key = codec.decode(cursor, context) if cursor is not None else None
        found: list[Item] = []
        last_key: dict[str, Any] | None = (
            {key: {key_types[key]: value} for key, value in start_key.items()}
            if start_key
            else None
        )
        for _ in range(MAX_QUERY_ROUNDS):
            if last_key is not None:
                request["ExclusiveStartKey"] = last_key
            response = self._client.query(**request)
            found.extend(response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if len(found) >= limit or last_key is None:
                break
        position: dict[str, Any] | None
        if len(found) > limit:
            # Trimmed inside a DynamoDB page: resume right after the last item shown.
            found = found[:limit]
            position = {key: found[-1][key] for key in key_types}
        else:
            position = last_key
        if position is not None and set(position) != set(key_types):
            raise ValueError(f"unexpected page key {sorted(position)}")
        return Page(
            items=[from_item(Transaction, item) for item in found],
            next_cursor=codec.encode(
                {key: str(value[key_types[key]]) for key, value in position.items()}, context
            )
            if position
            else None,
        )

    def provider_events(self, transaction_id: str, *, limit: int = 20) -> list[WebhookDelivery]:
        """The verified provider deliveries about one transaction, oldest first."""
        response = self._client.query(
            TableName=self._tables.webhook_deliveries,
            IndexName=BY_TRANSACTION_INDEX,
            KeyConditionExpression="transaction_id = :transaction_id",
            ExpressionAttributeValues={":transaction_id": _s(transaction_id)},
            Limit=limit,
        )
        return [
            from_item(WebhookDelivery, {k: v for k, v in item.items() if k != TTL_ATTRIBUTE})
            for item in response.get("Items", [])
        ]

    # --- writes ----------------------------------------------------------
    def create(self, transaction: Transaction) -> Transaction:
        """Store a new transaction; its id must be new."""
        try:
            self._client.put_item(
                TableName=self._tables.transactions,
                Item=self._transaction_item(transaction),
                ConditionExpression="attribute_not_exists(transaction_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                existing = _item_at_failure(error)
                raise AlreadyApplied(
                    current=from_item(Transaction, existing) if existing else None
                ) from error
            raise_storage_error(error)
        return transaction

    def change_status(
        self,
        transaction_id: str,
        target: Status,
        *,
        reason: str,
        source: str,
        only_from: frozenset[Status] | None = None,
        set_fields: Mapping[str, object] | None = None,
    ) -> Transaction:
        """Every status change without a balance movement goes through here.

        Raises TransitionRefused carrying the current item when the transaction
        is not in an allowed source status (including when it is already in
        the target: callers treat that as a duplicate), TransactionNotFound when
        there is no such transaction.
        """
        update = _status_update(
            target,
            reason=reason,
            source=source,
            at=self._clock(),
            only_from=only_from,
            set_fields=set_fields,
        )
        try:
            response = self._client.update_item(
                TableName=self._tables.transactions,
                Key={"transaction_id": _s(transaction_id)},
                UpdateExpression=update.update_expression,
                ConditionExpression=update.condition_expression,
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                current = _item_at_failure(error)
                if current is None:
                    raise TransactionNotFound() from error
                raise TransitionRefused(from_item(Transaction, current)) from error
            raise_storage_error(error)
        return from_item(Transaction, response["Attributes"])

    def apply_change(
        self,
        transaction: Transaction,
        target: Status,
        *,
        reason: str,
        source: str,
        only_from: frozenset[Status] | None = None,
        set_fields: Mapping[str, object] | None = None,
        delivery: WebhookDelivery | None = None,
        audit: AuditNote | None = None,
    ) -> Transaction:
        """A status change pinned to the version the caller read, written in one
        TransactWriteItems with the provider delivery or the BackOffice audit
        record that caused it (if any).

        The delivery's attribute_not_exists makes a duplicate raise
        DuplicateDelivery without changing anything; a stale or refused change
        raises TransitionRefused with the current item, and records nothing.
        """
        update = _status_update(
            target,
            reason=reason,
            source=source,
            at=self._clock(),
            only_from=only_from,
            expected_version=transaction.version,
            set_fields=set_fields,
        )
        writes: list[dict[str, Any]] = []
        if delivery is not None:
            writes.append(self._delivery_put(delivery))
        writes.append(self._status_write(transaction, update))
        status_index = len(writes) - 1
        if audit is not None:
            writes.append(self._audit_put(transaction, update, audit))
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            layout = _Layout(status=status_index, delivery=0 if delivery else None)
            _raise_cancellation(error, transaction, target, layout)
        return _after(transaction, update, set_fields)

    def record_delivery(self, delivery: WebhookDelivery) -> bool:
        """Store a delivery that changed nothing (refused, unknown transaction).
        False when it was stored before: a duplicate."""
        try:
            self._client.put_item(**self._delivery_put(delivery)["Put"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise_storage_error(error)
        return True

    def credit(
        self,
        transaction: Transaction,
        *,
        source: str,
        delivery: WebhookDelivery | None = None,
    ) -> Transaction:
        """provider_confirmed -> credited, the balance ADD and the credit entry, at once."""
        return self._move_with_status_change(
            transaction,
            LedgerKind.CREDIT,
            Status.CREDITED,
            only_from=frozenset({Status.PROVIDER_CONFIRMED}),
            reason="credited to the trading account",
            source=source,
            delivery=delivery,
        )

    def reverse_credit(
        self,
        transaction: Transaction,
        target: Status,
        *,
        reason: str,
        source: str,
        delivery: WebhookDelivery | None = None,
    ) -> Transaction:
        """credited -> refunded/chargeback with a debit; the balance may go negative."""
        if target not in (Status.REFUNDED, Status.CHARGEBACK):
            raise ValueError("a credit is reversed only by a refund or a chargeback")
        return self._move_with_status_change(
            transaction,
            LedgerKind.REVERSAL,
            target,
            only_from=frozenset({Status.CREDITED}),
            reason=reason,
            source=source,
            delivery=delivery,
        )

    def release_withdrawal_hold(
        self,
        transaction: Transaction,
        target: Status,
        *,
        reason: str,
        source: str,
        only_from: frozenset[Status] | None = None,
        audit: AuditNote | None = None,
    ) -> Transaction:
        """A withdrawal that will not be paid out gives its held funds back."""
        if target not in (Status.CANCELLED, Status.FAILED):
            raise ValueError("a hold is released only when the withdrawal is cancelled or fails")
        if transaction.type is not TransactionType.WITHDRAWAL:
            raise ValueError("only a withdrawal holds funds")
        return self._move_with_status_change(
            transaction,
            LedgerKind.HOLD_RELEASE,
            target,
            reason=reason,
            source=source,
            only_from=only_from,
            audit=audit,
        )

    def open_withdrawal(self, transaction: Transaction) -> Transaction:
        """Put a new withdrawal and hold its funds, only if the balance covers it."""
        if transaction.type is not TransactionType.WITHDRAWAL:
            raise ValueError("only withdrawals hold funds")
        put = {
            "Put": {
                "TableName": self._tables.transactions,
                "Item": self._transaction_item(transaction),
                "ConditionExpression": "attribute_not_exists(transaction_id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        self._transact(transaction, LedgerKind.WITHDRAWAL_HOLD, put, target=transaction.status)
        return transaction

    def _move_with_status_change(
        self,
        transaction: Transaction,
        kind: LedgerKind,
        target: Status,
        *,
        reason: str,
        source: str,
        only_from: frozenset[Status] | None = None,
        delivery: WebhookDelivery | None = None,
        audit: AuditNote | None = None,
    ) -> Transaction:
        # The version condition makes the returned state exactly what was written.
        update = _status_update(
            target,
            reason=reason,
            source=source,
            at=self._clock(),
            only_from=only_from,
            expected_version=transaction.version,
        )
        self._transact(
            transaction,
            kind,
            self._status_write(transaction, update),
            target=target,
            at=update.change.at,
            delivery=self._delivery_put(delivery) if delivery else None,
            audit=self._audit_put(transaction, update, audit) if audit else None,
        )
        return _after(transaction, update)

    def _status_write(self, transaction: Transaction, update: _StatusUpdate) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._tables.transactions,
                "Key": {"transaction_id": _s(transaction.transaction_id)},
                "UpdateExpression": update.update_expression,
                "ConditionExpression": update.condition_expression,
                "ExpressionAttributeNames": update.names,
                "ExpressionAttributeValues": update.values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _audit_put(
        self, transaction: Transaction, update: _StatusUpdate, note: AuditNote
    ) -> dict[str, Any]:
        record = AuditRecord(
            subject_id=transaction.transaction_id,
            audit_id=AuditRecord.id_for_change(transaction.version, note.action),
            action=note.action,
            principal=note.principal,
            reason=note.reason,
            at=update.change.at,
            status_before=transaction.status,
            status_after=update.change.status,
            details=dict(note.details) if note.details else None,
        )
        return {
            "Put": {
                "TableName": self._tables.audit,
                "Item": to_item(record),
                "ConditionExpression": "attribute_not_exists(audit_id)",
            }
        }

    def _delivery_put(self, delivery: WebhookDelivery) -> dict[str, Any]:
        expires = int(delivery.received_at.timestamp()) + DELIVERY_RETENTION_SECONDS
        return {
            "Put": {
                "TableName": self._tables.webhook_deliveries,
                "Item": to_item(delivery, **{TTL_ATTRIBUTE: expires}),
                "ConditionExpression": "attribute_not_exists(delivery_id)",
            }
        }

    def _transact(
        self,
        transaction: Transaction,
        kind: LedgerKind,
        status_write: dict[str, Any],
        *,
        target: Status,
        at: datetime | None = None,
        delivery: dict[str, Any] | None = None,
        audit: dict[str, Any] | None = None,
    ) -> None:
        moment = at or self._clock()
        rules = _ACCOUNT_RULES[kind]
        entry = LedgerEntry.for_transaction(transaction, kind, moment)
        conditions = [
            "attribute_exists(account_id)",
            "#currency = :currency",
            "#customer_id = :customer_id",
        ]
        names = {"#balance": "balance", "#currency": "currency", "#customer_id": "customer_id"}
        values: dict[str, Any] = {
            ":delta": _n(entry.amount),
            ":currency": _s(transaction.currency),
            ":customer_id": _s(transaction.customer_id),
        }
        if rules.require_open:
            conditions.append("#account_status = :open")
            names["#account_status"] = "status"
            values[":open"] = _s(AccountStatus.OPEN.value)
        if rules.require_cover:
            conditions.append("#balance >= :amount")
            values[":amount"] = _n(transaction.amount)
        account_write = {
            "Update": {
                "TableName": self._tables.accounts,
                "Key": {"account_id": _s(transaction.account_id), "sk": _s(ACCOUNT_SORT_KEY)},
                "UpdateExpression": "ADD #balance :delta",
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        ledger_write = {
            "Put": {
                "TableName": self._tables.accounts,
                "Item": to_item(entry, sk=LEDGER_SORT_PREFIX + entry.entry_id),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }
        writes = [status_write, account_write, ledger_write]
        if delivery is not None:
            writes.append(delivery)
        if audit is not None:
            writes.append(audit)
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            layout = _Layout(
                status=0,
                account=1,
                ledger=2,
                delivery=3 if delivery else None,
                status_is_put="Put" in status_write,
                rules=rules,
            )
            _raise_cancellation(error, transaction, target, layout)

    def _transaction_item(self, transaction: Transaction) -> Item:
        work_status = int(transaction.status) if transaction.status in WORK_QUEUE_STATUSES else None
        return to_item(transaction, work_status=work_status)


def _after(
    transaction: Transaction, update: _StatusUpdate, set_fields: Mapping[str, object] | None = None
) -> Transaction:
    """The transaction as a version-pinned change has just written it."""
    changes: dict[str, object] = {
        "status": update.change.status,
        "updated_at": update.change.at,
        "history": (*transaction.history, update.change),
        "version": transaction.version + 1,
    }
    changes.update({k: v for k, v in (set_fields or {}).items() if v is not None})
    return transaction.model_validate({**transaction.model_dump(), **changes})


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each write sits in a TransactWriteItems, to read its cancellation reasons."""

    status: int
    account: int | None = None
    ledger: int | None = None
    delivery: int | None = None
    status_is_put: bool = False
    rules: _AccountRules | None = None


def _raise_cancellation(
    error: ClientError, transaction: Transaction, target: Status, layout: _Layout
) -> NoReturn:
    """Turn a cancelled transaction into the domain error that explains it."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        raise_storage_error(error)
    reasons: list[Mapping[str, Any]] = list(error.response.get("CancellationReasons", []))

    def failed(index: int | None) -> Mapping[str, Any] | None:
        if index is None or index >= len(reasons):
            return None
        reason = reasons[index]
        return reason if reason.get("Code") == "ConditionalCheckFailed" else None

    if any(reason.get("Code") in RETRYABLE_CODES for reason in reasons):
        raise RetryableConflict() from error
    if failed(layout.delivery) is not None:
        raise DuplicateDelivery() from error
    status_reason = failed(layout.status)
    if status_reason is not None:
        item = status_reason.get("Item")
        if item is None:
            raise TransactionNotFound() from error
        current = from_item(Transaction, item)
        if layout.status_is_put or current.status is target:
            raise AlreadyApplied(current=current) from error
        raise TransitionRefused(current) from error
    if failed(layout.ledger) is not None:
        raise AlreadyApplied() from error
    account_reason = failed(layout.account)
    if account_reason is not None:
        raise _account_refusal(account_reason, transaction, layout) from error
    raise error


def _account_refusal(
    reason: Mapping[str, Any], transaction: Transaction, layout: _Layout
) -> CashierError:
    """Why the account's condition failed, from the item it returned."""
    item = reason.get("Item")
    if item is None:
        return AccountNotFound()
    account = from_item(TradingAccount, item)
    if account.customer_id != transaction.customer_id:
        return AccountNotFound()
    if account.currency != transaction.currency:
        return AccountCurrencyMismatch()
    if layout.rules and layout.rules.require_open and account.status is not AccountStatus.OPEN:
        return AccountClosed()
    return InsufficientFunds()
