"""The credit message: it names a transaction and nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier_core.credit_queue import MalformedCreditMessage, message_body, read_message
from tests.support import builders


def test_a_message_carries_only_the_id_never_money_or_payout_details() -> None:
    withdrawal_like = builders.transaction(builders.account()).model_copy(
        update={"payout_details": {"iban": "DE89370400440532013000"}}
    )
    document = json.loads(message_body(withdrawal_like))
    assert document == {"v": 2, "transaction_id": withdrawal_like.transaction_id}
    assert read_message(message_body(withdrawal_like)) == withdrawal_like.transaction_id


def test_a_version_1_message_gives_only_its_id() -> None:
    transaction = builders.transaction(builders.account())
    old = json.dumps({"transaction": {**transaction.model_dump(mode="json"), "amount": "9999"}})
    assert read_message(old) == transaction.transaction_id


@given(st.text(max_size=300))
def test_any_text_is_an_id_or_a_malformed_message(body: str) -> None:
    try:
        transaction_id = read_message(body)
    except MalformedCreditMessage:
        return
    assert isinstance(transaction_id, str) and 0 < len(transaction_id) <= 128


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_any_json_is_an_id_or_a_malformed_message(document: object) -> None:
    try:
        transaction_id = read_message(json.dumps(document))
    except MalformedCreditMessage:
        return
    assert isinstance(document, dict)
    assert transaction_id in (
        document.get("transaction_id"),
        (document.get("transaction") or {}).get("transaction_id"),
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"v": 3, "transaction_id": "t"}',
        '{"v": 2}',
        '{"v": 2, "transaction_id": 7}',
        '{"v": 2, "transaction_id": ""}',
        "[1]",
        "nope",
    ],
)
def test_what_is_not_our_message_is_refused(body: str) -> None:
    with pytest.raises(MalformedCreditMessage):
        read_message(body)
