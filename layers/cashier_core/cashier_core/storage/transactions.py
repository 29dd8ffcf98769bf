"""The transactions table: point reads and every status change.

Two rules hold here and nowhere else:
- a status change is one conditional write of a Move (lifecycle.decide) whose
  condition is the transition table, the version it was decided on and, when
  money moves, the money it moves (storage.conditions);
- a balance movement is one TransactWriteItems of that status change, the
  account's ADD and the ledger entry with its deterministic id
  (storage.ledger), with the provider delivery or the audit record that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, cast

from botocore.exceptions import ClientError

from cashier_core.clock import utc_now
from cashier_core.errors import (
    AlreadyApplied,
    CounterMismatch,
    DepositLimitExceeded,
    DuplicateDelivery,
    RetryableConflict,
    RouteChanged,
    TransactionNotFound,
    TransitionRefused,
)
from cashier_core.lifecycle import Move
from cashier_core.limits import Cap
from cashier_core.models import LedgerKind, Transaction, WebhookDelivery
from cashier_core.moves import RouteShare
from cashier_core.statuses import TransactionType
from cashier_core.storage.audit import AuditNote, audit_put
from cashier_core.storage.codec import Item, from_item, serialize_value, to_item
from cashier_core.storage.conditions import (
    WORK_KEY,
    after,
    n,
    s,
    status_update,
    work_key_of,
)
from cashier_core.storage.conventions import (
    RETRYABLE_CODES,
    format_timestamp,
    raise_storage_error,
)
from cashier_core.storage.deliveries import delivery_put
from cashier_core.storage.ledger import account_refusal, balance_writes
from cashier_core.storage.limits import count_writes, recount_writes, release_writes
from cashier_core.storage.tables import (
    BY_ACCOUNT_INDEX,
    BY_PROVIDER_REFERENCE_INDEX,
    TableNames,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


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
                Key={"transaction_id": s(transaction_id)},
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
            ExpressionAttributeValues={":reference": s(reference), ":provider": s(provider)},
        )
        items = response.get("Items", [])
        return from_item(Transaction, items[0]) if items else None

    def of_account(self, account_id: str) -> list[Transaction]:
        """Every transaction of one account (the by_account index, eventually
        consistent): what BackOffice's return-to-source view is computed from."""
        found: list[Transaction] = []
        request: dict[str, Any] = {
            "TableName": self._tables.transactions,
            "IndexName": BY_ACCOUNT_INDEX,
            "KeyConditionExpression": "account_id = :account",
            "ExpressionAttributeValues": {":account": s(account_id)},
        }
        while True:
            response = self._client.query(**request)
            found += [from_item(Transaction, item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # --- writes ----------------------------------------------------------
    def create(
        self, transaction: Transaction, caps: Mapping[str, Cap] | None = None
    ) -> Transaction:
        """Store a new transaction; its id must be new. A deposit with `counted_in`
        is counted towards its deposit limits in the same TransactWriteItems,
        each capped period (`caps`, by counter key) only while it fits: raises
        DepositLimitExceeded (bare: the caller explains) when one does not."""
        if transaction.counted_in:
            return self._create_counted(transaction, caps or {})
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

    def _create_counted(self, transaction: Transaction, caps: Mapping[str, Cap]) -> Transaction:
        put = {
            "Put": {
                "TableName": self._tables.transactions,
                "Item": self._transaction_item(transaction),
                "ConditionExpression": "attribute_not_exists(transaction_id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        counters = count_writes(self._tables.rate_limits, transaction, caps)
        try:
            self._client.transact_write_items(TransactItems=[put, *counters])  # type: ignore[list-item]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise_storage_error(error)
            reasons: list[Mapping[str, Any]] = list(error.response.get("CancellationReasons", []))
            if any(reason.get("Code") in RETRYABLE_CODES for reason in reasons):
                raise RetryableConflict() from error
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                existing = reasons[0].get("Item")
                raise AlreadyApplied(
                    current=from_item(Transaction, existing) if existing else None
                ) from error
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons[1:]):
                raise DepositLimitExceeded() from error
            raise
        return transaction

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
        money = balance_writes(
            self._tables.accounts,
            transaction,
            LedgerKind.WITHDRAWAL_HOLD,
            transaction.amount,
            transaction.created_at,
        )
        try:
            self._client.transact_write_items(
                TransactItems=[put, money.account_update, money.ledger_put]  # type: ignore[list-item]
            )
        except ClientError as error:
            layout = _Layout(status=0, account=1, ledger=2, kind=LedgerKind.WITHDRAWAL_HOLD)
            _raise_cancellation(error, transaction, layout, created=True)
        return transaction

    def write(
        self,
        transaction: Transaction,
        move: Move,
        *,
        source: str,
        delivery: WebhookDelivery | None = None,
        audit: AuditNote | None = None,
    ) -> Transaction:
        """Write an applied Move onto the transaction as read, pinned to its version,
        in one TransactWriteItems with its balance movement (if any) and the
        delivery or audit record that caused it (if any).

        Raises DuplicateDelivery when the delivery was stored before (nothing
        changes), TransitionRefused with the current item when the transaction
        changed since it was read, AlreadyApplied when the ledger entry exists,
        and the account's own refusal (AccountNotFound, AccountClosed, ...).
        """
        at = self._clock()
        update = status_update(transaction, move, source=source, at=at)
        writes: list[dict[str, Any]] = [
            update.as_transact_update(self._tables.transactions, transaction.transaction_id)
        ]
        layout = _Layout(status=0)
        if move.ledger is not None:
            money = balance_writes(
                self._tables.accounts,
                transaction,
                move.ledger.kind,
                move.ledger.amount,
                at,
                entry_id=move.ledger.entry_id,
            )
            writes += [money.account_update, money.ledger_put]
            layout = _Layout(status=0, account=1, ledger=2, kind=move.ledger.kind)
        if move.release_counted:
            layout = replace(layout, counters=len(writes))
            writes += release_writes(self._tables.rate_limits, transaction)
        if move.recount_counted:
            writes += recount_writes(self._tables.rate_limits, transaction)
        if move.route_shares:
            layout = replace(layout, shares=(len(writes), len(move.route_shares)))
            writes += [self._share_update(share, at) for share in move.route_shares]
        if delivery is not None:
            layout = replace(layout, delivery=len(writes))
            writes.append(delivery_put(self._tables.webhook_deliveries, delivery))
        if audit is not None:
            writes.append(audit_put(self._tables.audit, transaction, update.change, audit))
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            _raise_cancellation(error, transaction, layout)
        return after(transaction, update, move)

    def _share_update(self, share: RouteShare, at: datetime) -> dict[str, Any]:
        """A deposit's share of a payout's route, pinned to the version the
        route was checked at (a change since is RouteChanged: check again)."""
        return {
            "Update": {
                "TableName": self._tables.transactions,
                "Key": {"transaction_id": s(share.deposit_id)},
                "UpdateExpression": (
                    "SET #returns = :returns, #version = #version + :one, #updated_at = :now"
                ),
                "ConditionExpression": "#version = :version AND #type = :deposit",
                "ExpressionAttributeNames": {
                    "#returns": "payout_returns",
                    "#version": "version",
                    "#updated_at": "updated_at",
                    "#type": "type",
                },
                "ExpressionAttributeValues": {
                    ":returns": serialize_value(dict(share.payout_returns)),
                    ":one": n(1),
                    ":now": s(format_timestamp(at)),
                    ":version": n(share.version),
                    ":deposit": s(TransactionType.DEPOSIT.value),
                },
            }
        }

    def record_unchanged(self, transaction: Transaction, delivery: WebhookDelivery) -> None:
        """Store a delivery that changes nothing, only while the transaction is still
        at the version the decision was made on: an event refused on a stale read
        must be decided again, never recorded as refused for good.

        Raises DuplicateDelivery when it was stored before, TransitionRefused with
        the current item when the transaction moved on meanwhile."""
        check = {
            "ConditionCheck": {
                "TableName": self._tables.transactions,
                "Key": {"transaction_id": s(transaction.transaction_id)},
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": n(transaction.version)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        writes = [check, delivery_put(self._tables.webhook_deliveries, delivery)]
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as error:
            _raise_cancellation(error, transaction, _Layout(status=0, delivery=1))

    def _transaction_item(self, transaction: Transaction) -> Item:
        key = work_key_of(transaction.type, transaction.status, transaction.transaction_id)
        return to_item(transaction, **{WORK_KEY: key})


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each write sits in a TransactWriteItems, to read its cancellation reasons."""

    status: int
    account: int | None = None
    ledger: int | None = None
    delivery: int | None = None
    kind: LedgerKind | None = None
    counters: int | None = None  # the first deposit-limit release, the rest follow it
    shares: tuple[int, int] | None = None  # the first route share's index, and how many


def _raise_cancellation(
    error: ClientError, transaction: Transaction, layout: _Layout, *, created: bool = False
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
        if created:
            raise AlreadyApplied(current=current) from error
        raise TransitionRefused(current) from error
    if failed(layout.ledger) is not None:
        raise AlreadyApplied() from error
    if layout.shares is not None:
        first, count = layout.shares
        if any(failed(index) is not None for index in range(first, first + count)):
            raise RouteChanged() from error
    if layout.counters is not None and any(
        failed(index) is not None
        for index in range(layout.counters, layout.counters + len(transaction.counted_in))
    ):
        # Never expected: the release is pinned to the version that counted it.
        raise CounterMismatch(
            f"a deposit-limit counter of {transaction.transaction_id} holds less than it counted"
        ) from error
    account_reason = failed(layout.account)
    if account_reason is not None and layout.kind is not None:
        raise account_refusal(account_reason, transaction, layout.kind) from error
    raise error
