"""A customer's history: newest first, filtered, paged with bound cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cashier_core.errors import InvalidCursor, InvalidPageSize
from cashier_core.models import Transaction
from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.cursor import CursorCodec
from cashier_core.storage.pages import MAX_PAGE_SIZE, HistoryQuery
from tests.support import builders
from tests.support.aws import LocalAws

CODEC = CursorCodec(b"c" * 32)


def seed(aws: LocalAws, count: int, **overrides: object) -> list[Transaction]:
    account = builders.account(**overrides)
    store = aws.transactions()
    return [
        store.create(
            builders.transaction(
                account,
                at=builders.T0 + timedelta(minutes=index),
                status=Status.FAILED if index % 3 == 0 else Status.CREATED,
                type=TransactionType.DEPOSIT,
            )
        )
        for index in range(count)
    ]


def all_pages(aws: LocalAws, query: HistoryQuery, limit: int) -> list[list[Transaction]]:
    pages, cursor = [], None
    while True:
        page = aws.pages().list_history(query, codec=CODEC, limit=limit, cursor=cursor)
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_history_is_newest_first_across_pages_without_gaps_or_repeats(aws: LocalAws) -> None:
    mine = seed(aws, 7)
    seed(aws, 3, customer_id="cus-bob")
    pages = all_pages(aws, HistoryQuery(customer_id="cus-alice"), limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    flat = [t.transaction_id for page in pages for t in page]
    assert flat == [t.transaction_id for t in reversed(mine)]


def test_filters_by_status_account_and_time(aws: LocalAws) -> None:
    first = seed(aws, 6)
    second = seed(aws, 2)
    failed = all_pages(aws, HistoryQuery(customer_id="cus-alice", status=Status.FAILED), 1)
    assert {t.transaction_id for page in failed for t in page} == {
        t.transaction_id for t in first + second if t.status is Status.FAILED
    }
    by_account = all_pages(
        aws, HistoryQuery(customer_id="cus-alice", account_id=second[0].account_id), 10
    )
    assert [t.transaction_id for t in by_account[0]] == [t.transaction_id for t in reversed(second)]
    window = HistoryQuery(
        customer_id="cus-alice",
        account_id=first[0].account_id,
        created_from=builders.T0 + timedelta(minutes=1),
        created_to=builders.T0 + timedelta(minutes=3),
    )
    assert [t.created_at for t in all_pages(aws, window, 10)[0]] == [
        builders.T0 + timedelta(minutes=m) for m in (3, 2, 1)
    ]


def test_another_customers_account_filter_shows_nothing(aws: LocalAws) -> None:
    bobs = seed(aws, 2, customer_id="cus-bob")
    page = aws.pages().list_history(
        HistoryQuery(customer_id="cus-alice", account_id=bobs[0].account_id), codec=CODEC, limit=10
    )
    assert page.items == []
    assert page.next_cursor is None


def test_a_cursor_only_works_for_the_customer_and_query_it_was_issued_for(
    aws: LocalAws,
) -> None:
    seed(aws, 4)
    store = aws.pages()
    page = store.list_history(HistoryQuery(customer_id="cus-alice"), codec=CODEC, limit=2)
    assert page.next_cursor
    for other in (
        HistoryQuery(customer_id="cus-bob"),
        HistoryQuery(customer_id="cus-alice", status=Status.FAILED),
    ):
        with pytest.raises(InvalidCursor):
            store.list_history(other, codec=CODEC, limit=2, cursor=page.next_cursor)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1, 10**9])
def test_page_size_is_bounded(aws: LocalAws, limit: int) -> None:
    with pytest.raises(InvalidPageSize):
        aws.pages().list_history(HistoryQuery(customer_id="cus-alice"), codec=CODEC, limit=limit)
