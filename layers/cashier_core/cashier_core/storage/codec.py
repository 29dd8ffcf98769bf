"""Model <-> DynamoDB item conversion, for the low-level client.

The low-level client with boto3's TypeSerializer is used instead of the boto3
resource layer because the resource layer adds its model loading to every cold
start. TypeSerializer's Decimal context traps inexact values, so a number that
DynamoDB cannot hold exactly is refused rather than rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel

from cashier_core.storage.conventions import format_timestamp

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

ModelT = TypeVar("ModelT", bound=BaseModel)
Item = dict[str, Any]


def _plain(value: Any) -> Any:  # noqa: PLR0911 - one return per stored type
    if isinstance(value, float):
        raise TypeError("floats never reach storage; use Decimal")
    if isinstance(value, bool | Decimal | str) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(inner) for key, inner in value.items() if inner is not None}
    if isinstance(value, set | frozenset):
        # Lists, not DynamoDB sets: an empty set cannot be stored.
        return sorted(_plain(inner) for inner in value)
    if isinstance(value, list | tuple):
        return [_plain(inner) for inner in value]
    if isinstance(value, BaseModel):
        return _plain(value.model_dump())
    raise TypeError(f"cannot store {type(value).__name__}")


def serialize_value(value: Any) -> Any:
    return _serializer.serialize(_plain(value))


def to_item(model: BaseModel, **extra: Any) -> Item:
    """Item for `model`; None fields are left out so sparse indexes stay sparse."""
    fields = {key: value for key, value in model.model_dump().items() if value is not None}
    fields.update({key: value for key, value in extra.items() if value is not None})
    return {key: serialize_value(value) for key, value in fields.items()}


def plain_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def from_item[ModelT: BaseModel](model: type[ModelT], item: Mapping[str, Any]) -> ModelT:
    """Model from an item, ignoring storage-only attributes (index keys, TTL).

    Numbers come back as Decimal; pydantic's lax mode turns integral ones into
    int and IntEnum fields and refuses fractional ones, so no conversion here.
    """
    data = plain_item(item)
    return model.model_validate({name: data[name] for name in model.model_fields if name in data})
