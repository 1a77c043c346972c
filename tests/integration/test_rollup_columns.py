"""Rollups read as one row of text columns equal those read row by row: same operations, rows
in the same order, exact floats, each histogram with its row."""

from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.rollups import Rollups
from bot.store import Store
from bot.store.queries import QUERIES
from tests.integration.test_rollups import NOW, WEEK, samples


@pytest.mark.parametrize("resolution", ["minute", "hour"])
async def test_columns_equal_rows(store: Store, resolution: str) -> None:
    metrics = [
        *samples("commit", NOW - timedelta(hours=3), 50, 4, seed=1),
        *samples("branch.create", NOW - timedelta(hours=2), 70, 3, seed=2),
        *samples("a/b:c-d", NOW - timedelta(minutes=30), 20, 1, seed=3),
    ]
    await store.metrics.add(metrics)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    start, end = NOW - timedelta(hours=4), NOW + timedelta(hours=1)
    got = await store.rollups.between(resolution, start, end)
    async with store.connector.connection() as conn:
        records = await conn.fetch(QUERIES[f"rollup_{resolution}_rows"], start, end)
    expected = Rollups.from_records(records, resolution_s=got.resolution_s)
    assert len(got) == len(expected) > 3
    assert got.operations == expected.operations
    for column in ("op", "bucket", "n", "sum_ms", "m2_ms", "sum_log", "m2_log", "min_ms", "max_ms"):
        assert np.array_equal(getattr(got, column), getattr(expected, column)), column
    for column in ("hist_row", "hist_idx", "hist_cnt"):
        assert np.array_equal(getattr(got, column), getattr(expected, column)), column


async def test_nothing_in_range_is_empty(store: Store) -> None:
    got = await store.rollups.between("hour", NOW, NOW + timedelta(hours=1))
    assert len(got) == 0
    assert got.operations == ()
