"""Rollups built in PostgreSQL agree with numpy on the same samples: counts, moments, extremes
and histograms bucket for bucket; refreshes are incremental and catch backfills."""

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.analysis import histogram
from bot.analysis.rollups import Rollups, as_datetime
from bot.models import Metric
from bot.store import Store
from bot.store.rollups import floor_to

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
WEEK = timedelta(days=7)


def samples(op: str, start: datetime, minutes: int, per_minute: int, seed: int) -> list[Metric]:
    rng = np.random.default_rng(seed)
    out = []
    for m in range(minutes):
        for d in rng.lognormal(1.5, 0.7, per_minute):
            offset = timedelta(minutes=m, seconds=float(rng.uniform(0, 59.9)))
            out.append(Metric(operation_type=op, duration_ms=float(d), recorded_at=start + offset))
    return out


def by_key(rows: Rollups) -> dict[tuple[str, datetime], int]:
    keys = zip(rows.op, rows.bucket, strict=True)
    return {(rows.operations[op], as_datetime(b)): i for i, (op, b) in enumerate(keys)}


def dense(rows: Rollups, i: int) -> np.ndarray:
    mask = rows.hist_row == i
    return histogram.from_sparse(rows.hist_idx[mask], rows.hist_cnt[mask])


async def test_minute_and_hour_rollups_match_numpy(store: Store) -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    metrics = samples("commit", start, 90, 40, seed=1) + samples("merge", start, 90, 7, seed=2)
    await store.metrics.add(metrics)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()

    minute = await store.rollups.between("minute", start, NOW)
    hour = await store.rollups.between("hour", start, NOW)
    assert len(minute) == 180
    assert len(hour) == 4
    for rows, step in ((minute, timedelta(minutes=1)), (hour, timedelta(hours=1))):
        index = by_key(rows)
        for (op, bucket), i in index.items():
            values = np.array(
                [
                    m.duration_ms
                    for m in metrics
                    if m.operation_type == op and floor_to(m.recorded_at, step) == bucket
                ]
            )
            assert rows.n[i] == len(values)
            assert rows.sum_ms[i] == pytest.approx(values.sum())
            assert rows.m2_ms[i] == pytest.approx(((values - values.mean()) ** 2).sum(), rel=1e-9)
            logs = np.log(values)
            assert rows.m2_log[i] == pytest.approx(((logs - logs.mean()) ** 2).sum(), rel=1e-9)
            assert rows.min_ms[i] == pytest.approx(values.min())
            assert rows.max_ms[i] == pytest.approx(values.max())
            assert np.array_equal(dense(rows, i), histogram.histogram(values))


async def test_refresh_is_incremental_and_catches_backfills(store: Store) -> None:
    first = samples("commit", NOW - timedelta(minutes=30), 20, 10, seed=3)
    await store.metrics.add(first)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    later = NOW + timedelta(minutes=5)
    fresh = samples("commit", NOW, 5, 10, seed=4)
    old = samples("commit", NOW - timedelta(days=3), 10, 10, seed=5)  # a late CSV backfill
    await store.metrics.add(fresh)
    await store.metrics.add(old)
    result = await store.rollups.refresh(later, initial_backfill=WEEK)
    assert result.streamed_from == floor_to(NOW - timedelta(seconds=60), timedelta(minutes=1))
    day = floor_to(NOW - timedelta(days=3), timedelta(hours=1))
    assert result.pending == ((day, day + timedelta(hours=1)),)  # left for the back-fill
    await store.rollups.backfill()
    rows = await store.rollups.between("hour", NOW - WEEK, later)
    assert sum(rows.n) == len(first) + len(fresh) + len(old)
    minutes = await store.rollups.between("minute", NOW - WEEK, later, histograms=False)
    assert sum(minutes.n) == len(first) + len(fresh) + len(old)
    assert len(minutes.hist_idx) == 0


async def test_a_backfill_reaching_back_centuries_rebuilds_only_from_oldest(store: Store) -> None:
    """One metric from 1970 in a batch with current ones: the refresh rebuilds from `oldest` on
    (it would otherwise walk 56 years in 6-hour chunks, inside the transaction that holds the
    rollup lock, past the detect job's timeout, and again every cycle)."""
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    ancient = datetime(1970, 1, 1, tzinfo=UTC)
    recent = samples("commit", NOW - timedelta(days=2), 5, 4, seed=6)
    await store.metrics.add(
        [*recent, Metric(operation_type="commit", duration_ms=1.0, recorded_at=ancient)]
    )
    later = NOW + timedelta(minutes=5)
    async with asyncio.timeout(10):
        result = await store.rollups.refresh(
            later, initial_backfill=WEEK, oldest=later - timedelta(days=90)
        )
    assert result.pending[0][0] == floor_to(later - timedelta(days=90), timedelta(hours=1))
    await store.rollups.backfill()
    rows = await store.rollups.between("hour", NOW - WEEK, later)
    assert sum(rows.n) == len(recent)


async def test_recent_hours_are_cached_until_a_refresh_rebuilds_them(store: Store) -> None:
    """Detection's span of hourly rollups: complete hours are read once per hour (a change behind
    the store's back stays unseen), and a refresh that rebuilds any of them (a backfill) makes
    the next read go to the database again."""
    span = timedelta(days=2)
    first = samples("commit", NOW - timedelta(hours=5), 60, 4, seed=7)
    await store.metrics.add(first)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(first)

    async with store.connector.pool.acquire() as conn:
        await conn.execute("DELETE FROM perfbot.rollup_hour")
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(first)

    old = samples("commit", NOW - timedelta(days=1), 10, 4, seed=8)  # a late CSV backfill
    await store.metrics.add(old)
    await store.rollups.refresh(NOW + timedelta(minutes=1), initial_backfill=WEEK)
    await store.rollups.backfill()
    # Re-read: only the backfilled hours were rebuilt, so the deleted ones stay gone.
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(old)
