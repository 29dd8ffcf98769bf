"""What makes a customer's request the same request: its transaction id, fixed by
the operation and the Idempotency-Key before the first attempt, and the fields a
retry must repeat."""

from __future__ import annotations

import uuid
from typing import Final

from cashier_core.models import Transaction
from cashier_core.statuses import TransactionType

_REQUEST_NAMESPACE = uuid.UUID("5f0c4a52-4a8e-4c55-9d7f-2f8e3c0b6a11")
# The key is scoped by operation: a deposit and a withdrawal sent with one
# Idempotency-Key are two requests, not a retry of one. Deposits keep the
# namespace every id was derived with before the scope existed, so a deposit
# row already written, or a retry in flight across the deploy, lands on the
# same id; withdrawals, which never share an id with a deposit, get their own.
_REQUEST_NAMESPACES: Final[dict[TransactionType, uuid.UUID]] = {
    TransactionType.DEPOSIT: _REQUEST_NAMESPACE,
    TransactionType.WITHDRAWAL: uuid.UUID("1de2635f-3089-43ff-8020-78d670852261"),
}

# What a retry under the same key must repeat to be the same request.
_SAME_REQUEST_FIELDS: Final = (
    "type",
    "customer_id",
    "account_id",
    "method_id",
    "amount",
    "currency",
)


def transaction_id_for_request(
    operation: TransactionType, customer_id: str, idempotency_key: str
) -> str:
    """The id a customer's request gets, fixed by its operation and Idempotency-Key.

    A retry after a crash (when the idempotency record never completed) lands
    on the same transaction instead of creating a second one.
    """
    namespace = _REQUEST_NAMESPACES[operation]
    return str(uuid.uuid5(namespace, f"{customer_id}\n{idempotency_key}"))


def unscoped_transaction_id_for_request(customer_id: str, idempotency_key: str) -> str:
    """The id any request got before the key was scoped by operation (a deposit's
    id still is): where a withdrawal made before the scope existed may live."""
    return transaction_id_for_request(TransactionType.DEPOSIT, customer_id, idempotency_key)


def is_same_request(current: Transaction, wanted: Transaction) -> bool:
    """Whether the transaction found under a request's id is that request again
    (a retry), not another request reusing the key after its record expired."""
    return all(getattr(current, f) == getattr(wanted, f) for f in _SAME_REQUEST_FIELDS)
