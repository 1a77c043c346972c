"""The back-fill is resumable: chunks are committed one by one against a persisted cursor (the
pending ranges), newest first; an interrupted back-fill resumes with the next chunk, recomputes
none, and ends with the rollups of an uninterrupted run; detection scores live minutes while
history is still pending; `/perf status` shows what is left."""

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.commands import Commands, build_registry
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import Metric
from bot.store import Store
from bot.store.rollups import ROLLUP_LOCK_KEY, BackfillChunk
from tests.integration.test_commands import text_of
from tests.integration.test_detection_jobs import history
from tests.polling import eventually

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def jobs(store: Store) -> Jobs:
    settings = Settings.load(channels={"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}})
    return Jobs(store, settings, AlertService(store, settings, FrozenClock(NOW)))


class Interrupted(Exception):
    pass


async def snapshot(store: Store, before: datetime) -> list[Any]:
    """Every minute and hour rollup with bucket before `before`."""
    async with store.connector.pool.acquire() as conn:
        minutes = await conn.fetch(
            "SELECT * FROM perfbot.rollup_minute WHERE bucket < $1 ORDER BY 1, 2", before
        )
        hours = await conn.fetch(
            "SELECT * FROM perfbot.rollup_hour WHERE bucket < $1 ORDER BY 1, 2", before
        )
    return [tuple(r) for r in minutes] + [tuple(r) for r in hours]


async def test_an_interrupted_backfill_resumes_with_the_next_chunk(
    store: Store, jobs: Jobs, db_url: str
) -> None:
    start = NOW - timedelta(days=2)
    await store.metrics.add(history("commit", start, NOW, 2, 5.0, seed=21))
    refreshed = await store.rollups.refresh(NOW, initial_backfill=timedelta(days=2, hours=1))
    [(first, last)] = refreshed.pending
    assert await store.rollups.backfill_horizon() == first

    # Interrupted after k = 3 chunks (a crash right after the third commit) ...
    done: list[BackfillChunk] = []

    def crash_after_three(chunk: BackfillChunk) -> None:
        done.append(chunk)
        if len(done) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        await jobs.backfill(NOW, budget=None, on_chunk=crash_after_three)
    assert [c.end for c in done] == [last, done[0].start, done[1].start]  # newest first
    assert (await store.rollups.backlog()).ranges == ((first, done[2].start),)

    # ... then cancelled while waiting for the rollup lock in chunk 4 (a refresh holds it):
    # nothing of chunk 4 is lost or half done.
    other = await asyncpg.connect(db_url, timeout=10)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", ROLLUP_LOCK_KEY)
        task = asyncio.create_task(jobs.backfill(NOW, budget=None, on_chunk=done.append))

        async def waiting() -> bool:
            return bool(
                await other.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                )
            )

        await eventually(waiting)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await other.execute("SELECT pg_advisory_unlock($1)", ROLLUP_LOCK_KEY)
    finally:
        await other.close()
    assert len(done) == 3
    assert (await store.rollups.backlog()).ranges == ((first, done[2].start),)

    # Resumed: from chunk 4 on, each chunk once, the chunks tiling the history exactly.
    resumed: list[BackfillChunk] = []
    await jobs.backfill(NOW, budget=None, on_chunk=resumed.append)
    assert resumed[0].end == done[2].start
    chunks = sorted((c.start, c.end) for c in done + resumed)
    assert chunks[0][0] == first
    assert chunks[-1][1] == last
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert all(b - a <= timedelta(hours=6) for a, b in chunks)
    assert await store.rollups.backfill_horizon() is None
    assert not resumed[-1].left.ranges
    interrupted = await snapshot(store, last)

    # An uninterrupted run over the same history gives the same rollups, row for row.
    async with store.connector.pool.acquire() as conn:
        await conn.execute("TRUNCATE perfbot.rollup_minute, perfbot.rollup_hour")
    await store.rollups.queue(first, last - timedelta(microseconds=1))
    again = await store.rollups.backfill()
    assert [(c.start, c.end) for c in again] == sorted(chunks, reverse=True)
    assert interrupted
    assert await snapshot(store, last) == interrupted


async def test_detection_scores_live_minutes_while_history_is_pending(
    store: Store, jobs: Jobs
) -> None:
    """A week of history is queued; after one chunk (the newest 6 hours, detection's recent
    reference) a live spike is already an anomaly, while older history is still pending."""
    spike_from = datetime(2026, 11, 27, 11, 59, tzinfo=UTC)
    recent = NOW - timedelta(hours=6)
    await store.metrics.add(history("commit", NOW - timedelta(days=7), recent, 1, 5.0, seed=22))
    await store.metrics.add(
        history(
            "commit",
            recent,
            NOW,
            20,
            5.0,
            seed=23,
            factor=lambda t: 6.0 if t >= spike_from else 1.0,
        )
    )
    await jobs.refresh(NOW)
    step = await store.rollups.backfill_step(NOW - timedelta(days=90))
    assert step is not None
    horizon = await store.rollups.backfill_horizon()
    assert horizon is not None
    assert horizon <= NOW - timedelta(days=7)
    found = await jobs.detect_once(NOW)
    assert [a.operation_type for a in found] == ["commit"]
    assert found[0].window_end == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert await store.rollups.backfill_horizon() == horizon  # the cycle left history alone


async def test_status_shows_the_pending_backfill(store: Store, jobs: Jobs) -> None:
    settings = Settings.load()
    clock = FrozenClock(NOW)
    commands = Commands(
        store,
        AlertService(store, settings, clock),
        settings,
        clock,
        {"backfill": timedelta(minutes=1)},
        registry=build_registry(),
    )
    await store.metrics.add(
        [Metric(operation_type="commit", duration_ms=1.0, recorded_at=NOW - timedelta(days=1))]
    )
    await store.rollups.refresh(NOW, initial_backfill=timedelta(hours=12))
    status = text_of(await commands.run("status", _actor()))
    # the 12 hours of the first refresh, and the hour of yesterday's back-dated row
    assert "Back-fill: 13h of history pending (from 2026-11-26 12:00 UTC)" in status
    await jobs.backfill(NOW, budget=None)
    status = text_of(await commands.run("status", _actor()))
    assert "Back-fill: complete" in status


def _actor() -> Any:
    from tests.integration.test_commands import ALICE

    return ALICE
