"""Session rows as the authorizer reads them: hand-checked, so checked here hard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.sessions import SESSION_CUSTOMER, CustomerSession, hash_session_token
from cashier_core.storage.sessions import session_from_item, session_item
from cashier_core.storage.tables import TTL_ATTRIBUTE

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def session(**changes: Any) -> CustomerSession:
    fields: dict[str, Any] = {
        "token_hash": hash_session_token("token"),
        "customer_id": "cust-1",
        "brand_id": "brand-alpha",
        "type": SESSION_CUSTOMER,
        "expires_at": T0,
    }
    return CustomerSession(**{**fields, **changes})


def test_a_session_round_trips_through_its_item_with_the_ttl_attribute() -> None:
    original = session(
        expires_at=datetime(2026, 11, 27, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    item = session_item(original)
    assert item["expires_at"] == {"S": "2026-11-27T12:00:00.000000Z"}  # the stores' one format
    assert item[TTL_ATTRIBUTE] == {"N": str(int(T0.timestamp()))}
    assert session_from_item(item) == original


def test_only_an_unexpired_customer_session_is_valid() -> None:
    assert session().is_valid_at(T0 - timedelta(seconds=1))
    assert not session().is_valid_at(T0)
    assert not session(type="SESSION_BACKOFFICE").is_valid_at(T0 - timedelta(days=1))


def test_attributes_other_services_add_are_ignored() -> None:
    item = {**session_item(session()), "ip_address": {"S": "10.0.0.1"}}
    assert session_from_item(item) == session()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("token_hash", "A" * 64),
        ("token_hash", "a" * 63),
        ("customer_id", ""),
        ("customer_id", "c" * 129),
        ("brand_id", ""),
        ("type", "t" * 65),
        ("expires_at", datetime(2026, 11, 27, 12, 0)),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_a_field_out_of_bounds_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        session(**{field: value})


@pytest.mark.parametrize(
    "change",
    [
        {"expires_at": {"N": "1796000000"}},
        {"expires_at": {"S": "2026-11-27T12:00:00"}},
        {"expires_at": {"S": "tomorrow"}},
        {"customer_id": {"N": "7"}},
        {"type": "SESSION_CUSTOMER"},
    ],
)
def test_a_row_not_written_as_a_session_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        session_from_item({**session_item(session()), **change})


attribute_values = st.one_of(
    st.text(max_size=80).map(lambda text: {"S": text}),
    st.integers().map(lambda number: {"N": str(number)}),
    st.text(max_size=5),
    st.none(),
    st.dictionaries(st.sampled_from(["S", "N", "M"]), st.text(max_size=5), max_size=2),
)


@given(
    st.dictionaries(
        st.sampled_from(["token_hash", "customer_id", "brand_id", "type", "expires_at", "x"]),
        attribute_values,
    )
)
def test_any_row_reads_as_a_session_or_raises_value_error(item: dict[str, Any]) -> None:
    try:
        read = session_from_item(item)
    except ValueError:
        return
    assert read.expires_at.utcoffset() is not None
    assert session_from_item(session_item(read)) == read
