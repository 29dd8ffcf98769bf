"""Reading transactions by page: a customer's history and the work queues.

The work-queue index is sharded (storage.conditions.WORK_SHARDS keys per type
and status); every reader queries all shards, in parallel, and merges them by
(updated_at, transaction_id), which is also what a work-queue cursor holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

from cashier_core.errors import InvalidCursor, InvalidPageSize
from cashier_core.models import Transaction
from cashier_core.statuses import Status, TransactionType, is_work
from cashier_core.storage.codec import Item, from_item
from cashier_core.storage.conditions import WORK_KEY, WORK_SHARDS, n, s, work_key
from cashier_core.storage.conventions import format_timestamp
from cashier_core.storage.cursor import CursorCodec
from cashier_core.storage.tables import BY_ACCOUNT_INDEX, BY_CUSTOMER_INDEX, BY_WORK_KEY_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

MAX_PAGE_SIZE: Final = 100
# A filtered query reads at most this many DynamoDB pages per request (per
# shard for the work queues); past that it returns a short page with a cursor.
MAX_QUERY_ROUNDS: Final = 10
# Threads per sharded read: enough to overlap the shards' round trips.
SHARD_READERS: Final = 8


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
class WorkQueueQuery:
    """What an operator lists: one waiting status, one type, optionally one brand."""

    status: Status
    type: TransactionType
    updated_before: datetime
    brand_id: str | None = None

    def cursor_context(self) -> str:
        # Not the moment: the next page is asked for later, and resuming after
        # the cursor's position with a later bound only lets newer waiters join the end.
        return json.dumps(
            {"work_queue": int(self.status), "type": self.type.value, "brand_id": self.brand_id},
            sort_keys=True,
        )


# A place in a work queue: (updated_at, transaction_id), the merge order.
Position = tuple[str, str]


def _order(item: Item) -> Position:
    return (item["updated_at"]["S"], item["transaction_id"]["S"])


class TransactionPages:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # --- the customer's history ------------------------------------------
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
        values: dict[str, Any] = {":hash": s(hash_value)}
        key_condition = "#hash = :hash"
        bounds = []
        if query.created_from is not None:
            bounds.append("#created_at >= :from")
            values[":from"] = s(format_timestamp(query.created_from))
        if query.created_to is not None:
            bounds.append("#created_at <= :to")
            values[":to"] = s(format_timestamp(query.created_to))
        if bounds:
            names["#created_at"] = "created_at"
            key_condition += " AND " + (
                "#created_at BETWEEN :from AND :to" if len(bounds) == 2 else bounds[0]
            )

        filters = []
        equalities: list[tuple[str, str, dict[str, str]]] = []
        if query.account_id is not None:
            # The account index is shared by all customers: ownership is a filter.
            equalities.append(("customer_id", ":customer_id", s(query.customer_id)))
        if query.type is not None:
            equalities.append(("type", ":type", s(query.type.value)))
        if query.status is not None:
            equalities.append(("status", ":status", n(int(query.status))))
        for attribute, placeholder, value in equalities:
            names[f"#{attribute}"] = attribute
            values[placeholder] = value
            filters.append(f"#{attribute} = {placeholder}")

        request: dict[str, Any] = {
            "TableName": self._table,
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

    # --- the work queues ---------------------------------------------------
    def list_work(
        self,
        transaction_type: TransactionType,
        status: Status,
        *,
        updated_before: datetime,
        page_size: int = 100,
    ) -> Iterator[Transaction]:
        """Everything waiting in `status` since before a moment, over all shards."""
        _check_work(transaction_type, status)

        def shard(index: int) -> list[Item]:
            request = self._work_request(
                transaction_type, status, index, before=updated_before, limit=page_size
            )
            found: list[Item] = []
            while True:
                response = self._client.query(**request)
                found.extend(response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return found
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

        for items in self._each_shard(shard):
            for item in items:
                yield from_item(Transaction, item)

    def work_queue_page(
        self,
        query: WorkQueueQuery,
        *,
        codec: CursorCodec,
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        """What waits for an operator, longest-waiting first, one page at a time."""
        _check_work(query.type, query.status)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidPageSize(f"limit must be between 1 and {MAX_PAGE_SIZE}.")
        position = codec.decode(cursor, query.cursor_context()) if cursor is not None else None
        try:
            after = (position["updated_at"], position["transaction_id"]) if position else None
        except KeyError:
            raise InvalidCursor() from None

        def shard(index: int) -> tuple[list[Item], Position | None]:
            """The matches of one shard past the cursor, and where it stopped
            reading when it did not read to the end (None: it did)."""
            request = self._work_request(
                query.type,
                query.status,
                index,
                before=query.updated_before,
                limit=limit,
                after=after[0] if after else None,
                brand_id=query.brand_id,
            )
            found: list[Item] = []
            for _ in range(MAX_QUERY_ROUNDS):
                response = self._client.query(**request)
                found.extend(
                    i for i in response.get("Items", []) if after is None or _order(i) > after
                )
                last = response.get("LastEvaluatedKey")
                if last is None:
                    return found, None
                if len(found) > limit:
                    break
                request["ExclusiveStartKey"] = last
            return found, _order(cast(Item, last))

        results = self._each_shard(shard)
        # Everything up to the earliest point where a shard stopped reading has
        # been read in every shard; past it, a shard may hold unread waiters.
        stops = [stop for _, stop in results if stop is not None]
        horizon = min(stops) if stops else None
        merged = sorted(
            (item for items, _ in results for item in items
             if horizon is None or _order(item) <= horizon),
            key=_order,
        )  # fmt: skip
        shown = merged[:limit]
        resume: Position | None = None
        if len(merged) > limit:
            resume = _order(shown[-1])
        elif horizon is not None:
            resume = horizon  # every item up to here is shown; go on from here
        next_cursor = (
            codec.encode(
                {"updated_at": resume[0], "transaction_id": resume[1]}, query.cursor_context()
            )
            if resume is not None
            else None
        )
        return Page(items=[from_item(Transaction, item) for item in shown], next_cursor=next_cursor)

    def _work_request(
        self,
        transaction_type: TransactionType,
        status: Status,
        shard: int,
        *,
        before: datetime,
        limit: int,
        after: str | None = None,
        brand_id: str | None = None,
    ) -> dict[str, Any]:
        names = {"#key": WORK_KEY, "#updated_at": "updated_at"}
        values: dict[str, Any] = {
            ":key": s(work_key(transaction_type, status, shard)),
            ":before": s(format_timestamp(before)),
        }
        if after is not None:
            # >= and a filter on (updated_at, id): ties on the timestamp are kept.
            condition = "#key = :key AND #updated_at BETWEEN :after AND :before"
            values[":after"] = s(after)
        else:
            condition = "#key = :key AND #updated_at < :before"
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_WORK_KEY_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit + 1,
        }
        if brand_id is not None:
            names["#brand_id"] = "brand_id"
            values[":brand_id"] = s(brand_id)
            request["FilterExpression"] = "#brand_id = :brand_id"
        return request

    def _each_shard[T](self, read: Callable[[int], T]) -> list[T]:
        with ThreadPoolExecutor(max_workers=SHARD_READERS) as pool:
            return list(pool.map(read, range(WORK_SHARDS)))


def _check_work(transaction_type: TransactionType, status: Status) -> None:
    if not is_work(transaction_type, status):
        raise ValueError(f"a {transaction_type} in {status.api_name} is not in the work queue")
