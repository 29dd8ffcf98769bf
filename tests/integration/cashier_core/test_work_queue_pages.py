"""BackOffice's work-queue pages over the sharded index: every waiting item is
shown exactly once, oldest first, whatever the shards, filters and page size."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from cashier_core.statuses import Status, TransactionType
from cashier_core.storage.conditions import WORK_SHARDS, work_shard
from cashier_core.storage.cursor import CursorCodec
from cashier_core.storage.pages import WorkQueueQuery
from tests.support import builders
from tests.support.aws import LocalAws

CODEC = CursorCodec(b"w" * 32)
ALPHA, OTHER = "brand-alpha", "brand-other"


def id_in_shard(shard: int, prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(10_000) if work_shard(f"{prefix}-{i}") == shard)


def walk(aws: LocalAws, query: WorkQueueQuery, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(500):
        page = aws.pages().work_queue_page(query, codec=CODEC, limit=limit, cursor=cursor)
        seen += [t.transaction_id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def waiting(aws: LocalAws, shard: int, brand: str, minutes: int, prefix: str) -> str:
    transaction = builders.transaction(
        builders.account(),
        status=Status.MANUAL_REVIEW,
        at=builders.T0 + timedelta(minutes=minutes),
        transaction_id=id_in_shard(shard, prefix),
        brand_id=brand,
    )
    return aws.transactions().create(transaction).transaction_id


def query(brand: str | None) -> WorkQueueQuery:
    return WorkQueueQuery(
        status=Status.MANUAL_REVIEW,
        type=TransactionType.DEPOSIT,
        updated_before=builders.T0 + timedelta(days=1),
        brand_id=brand,
    )


def test_a_shard_that_stops_reading_early_never_hides_an_older_waiter(aws: LocalAws) -> None:
    """Shard 0 holds many other-brand items before ours; shard 1 a newer one of
    ours. The page must not show shard 1's item and skip shard 0's unread one."""
    for minute in range(25):
        waiting(aws, 0, OTHER, minute, f"other{minute}")
    older = waiting(aws, 0, ALPHA, 30, "older")
    newer = waiting(aws, 1, ALPHA, 40, "newer")
    assert walk(aws, query(ALPHA), limit=1) == [older, newer]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("limit", [1, 4])
def test_every_waiter_is_shown_once_in_order(aws: LocalAws, seed: int, limit: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - seeded test data, not a secret
    expected: dict[str | None, list[tuple[str, str]]] = {None: [], ALPHA: [], OTHER: []}
    for index in range(30):
        brand = rng.choice([ALPHA, OTHER])
        minutes = rng.randrange(0, 20)  # ties on updated_at happen on purpose
        transaction_id = waiting(aws, rng.randrange(WORK_SHARDS), brand, minutes, f"t{index}")
        stored = aws.transactions().get(transaction_id)
        key = (stored.updated_at.isoformat(), transaction_id)
        expected[None].append(key)
        expected[brand].append(key)
    for brand, keys in expected.items():
        assert walk(aws, query(brand), limit) == [tid for _, tid in sorted(keys)]
