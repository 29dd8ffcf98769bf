"""Pagination cursors are opaque and tamper-evident."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.errors import InvalidCursor
from cashier_core.storage.cursor import CursorCodec

KEY = b"k" * 32
POSITION = {"transaction_id": "txn-1", "created_at": "2026-11-24T12:00:00.000000Z"}


def test_a_cursor_round_trips_for_the_same_context() -> None:
    codec = CursorCodec(KEY)
    assert codec.decode(codec.encode(POSITION, "alice"), "alice") == POSITION


def test_a_cursor_issued_for_another_customer_or_query_is_refused() -> None:
    codec = CursorCodec(KEY)
    cursor = codec.encode(POSITION, "alice|status=3")
    for other in ("bob|status=3", "alice|status=4", "alice"):
        with pytest.raises(InvalidCursor):
            codec.decode(cursor, other)


def test_a_cursor_signed_with_another_key_is_refused() -> None:
    cursor = CursorCodec(b"x" * 32).encode(POSITION, "alice")
    with pytest.raises(InvalidCursor):
        CursorCodec(KEY).decode(cursor, "alice")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CursorCodec(b"short")


@given(st.data())
def test_any_change_to_a_cursor_is_detected(data: st.DataObject) -> None:
    codec = CursorCodec(KEY)
    cursor = codec.encode(POSITION, "alice")
    index = data.draw(st.integers(min_value=0, max_value=len(cursor) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != cursor[index]))
    tampered = cursor[:index] + replacement + cursor[index + 1 :]
    try:
        decoded = CursorCodec(KEY).decode(tampered, "alice")
    except InvalidCursor:
        return
    # base64 padding bits can absorb a change without altering the bytes.
    assert decoded == POSITION


@given(st.text(max_size=2000))
def test_garbage_is_an_invalid_cursor_never_a_crash(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(KEY).decode(garbage, "alice")
