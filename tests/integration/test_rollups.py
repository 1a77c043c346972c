"""Rollups built in PostgreSQL agree with numpy on the same samples: counts, moments, extremes
and histograms bucket for bucket; refreshes are incremental and catch backfills."""

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.analysis import histogram
from bot.analysis.rollups import Rollups, as_datetime, as_datetime64
from bot.models import Metric
from bot.store import Store
from bot.store.rollups import LateRows, RollupRepository, floor_to

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
WEEK = timedelta(days=7)
MIN = timedelta(minutes=1)
HOUR_ = timedelta(hours=1)


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
        assert_match(rows, metrics, step)


def assert_match(rows: Rollups, metrics: list[Metric], step: timedelta) -> None:
    """Each rollup row agrees with numpy on the samples of its operation and bucket."""
    for (op, bucket), i in by_key(rows).items():
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


@pytest.mark.parametrize("cached", [False, True])
async def test_refreshes_store_each_hour_once_complete_merged_from_its_minutes(
    store: Store, cached: bool
) -> None:
    """Refreshes every 7 minutes through two hour boundaries: each complete hour is stored,
    merged from its minutes, equal to numpy on its samples; the current one is not stored
    (rolling it up again each cycle would cost a whole hour of raw rows by hh:59), and readers
    get it merged from its minutes. `cached`: detection reads the minutes after each refresh,
    so an hour is merged from the minute cache and the minutes just rebuilt; rows committed
    late into a cached minute are not lost to the cache."""
    start = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    metrics = samples("commit", start, 125, 9, seed=6) + samples("merge", start, 125, 2, seed=7)
    await store.rollups.refresh(start + timedelta(seconds=1), initial_backfill=WEEK)
    await store.metrics.add(metrics)
    at = start + timedelta(seconds=1)
    while at < NOW:
        at = min(at + 7 * MIN, NOW)
        if at.minute == 52 or at == NOW:  # a row of 5 minutes ago, committed late
            late = samples("commit", floor_to(at - 5 * MIN, MIN), 1, 1, seed=at.minute)
            await insert_committed_late(store, late)
            metrics += late
        await store.rollups.refresh(at, initial_backfill=WEEK)
        if cached:
            upto = floor_to(at, MIN)
            await store.rollups.recent_minutes(upto - 3 * HOUR_, upto, upto, 3 * HOUR_)
    stored = await store.rollups.between("hour", start, start + 3 * HOUR_)
    assert sorted({as_datetime(b) for b in stored.bucket}) == [start, start + HOUR_]
    assert len(stored) == 4
    assert int(stored.n.sum()) == len([m for m in metrics if m.recorded_at < start + 2 * HOUR_])
    assert_match(stored, metrics, HOUR_)
    current = await store.rollups.hours_until(start, NOW)
    assert len(current) == 6
    assert_match(current, [m for m in metrics if m.recorded_at < NOW], HOUR_)


@pytest.mark.parametrize(("per_minute", "width"), [(10, 1), (300, 2), (70_000, 4)])
async def test_histograms_are_packed_in_sql_as_in_python(
    store: Store, per_minute: int, width: int
) -> None:
    """The bytes SQL writes are `histogram.pack`'s, at each count width, for the minute and
    for the hour built from the same raw rows."""
    start = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    values = np.random.default_rng(per_minute).lognormal(1.5, 0.7, per_minute)
    stamps = [start + timedelta(seconds=float(s)) for s in np.linspace(0, 59.9, per_minute)]
    await store.metrics.add_rows(
        [("commit", float(v), t) for v, t in zip(values, stamps, strict=True)]
    )
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    idx, cnt = np.unique(histogram.bucket_index(values), return_counts=True)
    expected = histogram.pack(idx, cnt)
    assert expected[0] == width
    async with store.connector.pool.acquire() as conn:
        for table in ("rollup_minute", "rollup_hour"):
            packed = await conn.fetchval(
                f"SELECT hist FROM perfbot.{table} WHERE bucket = $1",  # noqa: S608
                start,
            )
            assert packed == expected, table


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
    rows = await store.rollups.hours_until(NOW - WEEK, later)
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
    rows = await store.rollups.hours_until(NOW - WEEK, later)
    assert sum(rows.n) == len(recent)


async def test_recent_hours_are_cached_until_a_refresh_rebuilds_them(store: Store) -> None:
    """Detection's span of hourly rollups: complete hours are read once (a change behind the
    store's back stays unseen), and a refresh that rebuilds some of them (a backfill) makes the
    next read fetch those hours again, and only those."""
    span = timedelta(days=2)
    store.rollups.late = LateRows(check=timedelta(0))  # no hourly re-count of deleted hours
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
    # Only the backfilled hour is re-read: the deleted ones stay cached, the new rows appear.
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(first) + len(old)


async def test_an_hour_merged_again_unchanged_stays_cached(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh stores a completed hour, then merges it again while its last minute may
    still take late rows: unchanged, detection's cache of complete hours keeps it (at 10,000
    operations each re-read also rebuilds the week's aggregates); a late row in that minute
    changes it, and the next read fetches that hour again."""
    start = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    await store.rollups.refresh(start + timedelta(seconds=1), initial_backfill=WEEK)
    await store.metrics.add(samples("commit", start, 120, 3, seed=12))
    for at in (start + timedelta(minutes=119, seconds=30), NOW):
        await store.rollups.refresh(at, initial_backfill=WEEK)
    reads: list[tuple[datetime, datetime]] = []
    read = store.rollups._read_hours

    async def counted(a: datetime, b: datetime) -> Rollups:
        reads.append((a, b))
        return await read(a, b)

    monkeypatch.setattr(store.rollups, "_read_hours", counted)
    span, noon = timedelta(hours=3), floor_to(NOW, HOUR_)
    await store.rollups.hour_parts(noon + MIN, span)
    assert reads == [(noon - span, noon)]

    await store.rollups.refresh(NOW + MIN, initial_backfill=WEEK)  # merges 11:00 again
    complete, _ = await store.rollups.hour_parts(noon + 2 * MIN, span)
    assert reads == [(noon - span, noon)]
    assert int(complete.n.sum()) == 360

    await insert_committed_late(store, samples("commit", noon - MIN, 1, 2, seed=13))
    await store.rollups.refresh(NOW + 2 * MIN, initial_backfill=WEEK)
    complete, _ = await store.rollups.hour_parts(noon + 3 * MIN, span)
    assert reads[1:] == [(noon - HOUR_, noon)]
    assert int(complete.n.sum()) == 362


async def insert_committed_late(store: Store, metrics: list[Metric]) -> None:
    """Rows that appear in the source without ingest (an in-place source's late commit)."""
    async with store.connector.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO perfbot.metrics (operation_type, duration_ms, recorded_at) "
            "VALUES ($1, $2, $3)",
            [(m.operation_type, m.duration_ms, m.recorded_at) for m in metrics],
        )


async def minute_count(store: Store, bucket: datetime) -> int:
    async with store.connector.pool.acquire() as conn:
        n = await conn.fetchval(
            "SELECT coalesce(sum(n), 0) FROM perfbot.rollup_minute WHERE bucket = $1", bucket
        )
    return int(n)


async def test_rows_committed_late_are_rolled_up_and_counted(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    history = samples("commit", NOW - timedelta(hours=6), 360, 2, seed=9)
    await store.metrics.add(history)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    five_ago = floor_to(NOW - timedelta(minutes=5), timedelta(minutes=1))
    before = await minute_count(store, five_ago)

    # within the grace: found by the next refresh, minute by minute
    await insert_committed_late(store, samples("commit", five_ago, 1, 3, seed=10))
    result = await store.rollups.refresh(NOW + timedelta(minutes=1), initial_backfill=WEEK)
    assert result.late == ((five_ago, five_ago + timedelta(minutes=1)),)
    assert result.late_rows == 3
    assert await minute_count(store, five_ago) == before + 3

    # older than the grace: found by the hourly check, not before
    three_hours_ago = floor_to(NOW - timedelta(hours=3), timedelta(minutes=1))
    old = await minute_count(store, three_hours_ago)
    await insert_committed_late(store, samples("commit", three_hours_ago, 1, 2, seed=11))
    soon = await store.rollups.refresh(NOW + timedelta(minutes=2), initial_backfill=WEEK)
    assert soon.late_rows == 0
    later = NOW + timedelta(hours=1, minutes=1)
    with caplog.at_level("WARNING", logger="bot.store.rollups"):
        result = await store.rollups.refresh(later, initial_backfill=WEEK)
    hour = floor_to(three_hours_ago, timedelta(hours=1))
    assert (hour, hour + timedelta(hours=1)) in result.late
    assert result.late_rows == 2
    assert await minute_count(store, three_hours_ago) == old + 2
    assert await store.rollups.late_rows() == 5
    assert any(getattr(r, "action", "") == "late_rows_rolled_up" for r in caplog.records)


async def test_a_source_that_deletes_old_rows_never_thins_the_rollups(store: Store) -> None:
    history = samples("commit", NOW - timedelta(hours=3), 180, 2, seed=12)
    await store.metrics.add(history)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    two_hours_ago = floor_to(NOW - timedelta(hours=2), timedelta(minutes=1))
    kept = await minute_count(store, two_hours_ago)
    async with store.connector.pool.acquire() as conn:  # the source prunes its own history
        await conn.execute(
            "DELETE FROM perfbot.metrics WHERE recorded_at < $1", NOW - timedelta(hours=1)
        )
    result = await store.rollups.refresh(NOW + timedelta(hours=1, minutes=1), initial_backfill=WEEK)
    assert result.late_rows == 0
    assert await minute_count(store, two_hours_ago) == kept


async def test_recent_minutes_are_cached_and_read_again_when_rebuilt(store: Store) -> None:
    """Detection's last couple of hours of minute rollups: a read equals `between`; complete
    minutes are read once (a change behind the store's back stays unseen) and only the minutes
    a refresh rebuilt are read again; after another process rebuilt rollups, everything is."""
    span = timedelta(hours=2)
    store.rollups.late = LateRows(grace=timedelta(0), check=timedelta(0))  # no re-counts
    end = floor_to(NOW, MIN)
    first = samples("commit", end - timedelta(minutes=90), 90, 3, seed=21)
    first += samples("merge", end - timedelta(minutes=30), 30, 2, seed=22)
    await store.metrics.add(first)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    cached = await store.rollups.recent_minutes(end - span, end, end, span)
    direct = await store.rollups.between("minute", end - span, end)
    assert cached.operations == direct.operations
    assert by_key(cached) == by_key(direct)
    assert cached.n.tolist() == direct.n.tolist()
    assert cached.hist_cnt.tolist() == direct.hist_cnt.tolist()
    part = await store.rollups.recent_minutes(end - timedelta(minutes=10), end, end, span)
    assert part.operations == ("commit", "merge")
    assert sum(part.n) == 10 * 3 + 10 * 2

    async with store.connector.pool.acquire() as conn:
        await conn.execute("DELETE FROM perfbot.rollup_minute WHERE bucket < $1", end - 3 * MIN)
    later = end + MIN
    new = samples("commit", end, 1, 4, seed=23)
    await store.metrics.add(new)
    await store.rollups.refresh(later + timedelta(seconds=10), initial_backfill=WEEK)
    rows = await store.rollups.recent_minutes(later - span, later, later, span)
    # the deleted minutes are still cached; the rebuilt ones (and the new minute) are read
    assert sum(rows.n) == len(first) + len(new)
    assert sum((await store.rollups.between("minute", later - span, later)).n) < len(first)

    # Another process (a replica) back-fills minutes [end - 60, end - 30): this one forgets
    # those minutes only; the deleted minutes before them, rebuilt by no one, stay cached.
    other = RollupRepository(store.connector, store.operations)  # another process's store
    await other.queue(end - timedelta(minutes=60), end - timedelta(minutes=30) - MIN / 60)
    assert await other.backfill()
    await store.rollups.refresh(later + timedelta(seconds=30), initial_backfill=WEEK)
    rows = await store.rollups.recent_minutes(later - span, later, later, span)
    assert sum(rows.n) == len(first) + len(new)  # the deleted minutes still cached
    direct = await store.rollups.between("minute", later - span, later)
    for a, b in (
        (end - timedelta(minutes=60), end - timedelta(minutes=30)),
        (end - 3 * MIN, later),
    ):
        mine = rows.select(as_datetime64(a), as_datetime64(b))
        theirs = direct.select(as_datetime64(a), as_datetime64(b))
        assert len(mine) > 0
        assert mine.n.tolist() == theirs.n.tolist()
    assert len(rows) > len(direct)


async def test_a_replicas_backfill_makes_this_process_read_those_hours_again(
    store: Store,
) -> None:
    """Hours another process rebuilt (a back-fill after a back-dated ingest) are read again by
    this one's next cycle, from the log of rebuilds; the others stay cached."""
    span = timedelta(days=2)
    store.rollups.late = LateRows(check=timedelta(0))
    first = samples("commit", NOW - timedelta(hours=5), 60, 4, seed=31)
    await store.metrics.add(first)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(first)

    async with store.connector.pool.acquire() as conn:  # unseen: the hour stays cached
        await conn.execute("DELETE FROM perfbot.rollup_hour WHERE bucket < $1", NOW - HOUR_)
    old = samples("commit", NOW - timedelta(days=1), 10, 4, seed=32)  # a back-dated ingest
    await store.metrics.add(old)
    other = RollupRepository(store.connector, store.operations)
    other.late = store.rollups.late
    await other.refresh(NOW + MIN, initial_backfill=WEEK)
    await other.backfill()
    await store.rollups.refresh(NOW + 2 * MIN, initial_backfill=WEEK)
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(first) + len(old)


async def test_a_process_that_fell_behind_the_log_of_rebuilds_reads_everything_again(
    store: Store,
) -> None:
    first = samples("commit", NOW - timedelta(hours=5), 60, 4, seed=33)
    await store.metrics.add(first)
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()
    span = timedelta(days=2)
    assert sum((await store.rollups.recent_hours(NOW, span)).n) == len(first)
    async with store.connector.pool.acquire() as conn:
        await conn.execute("DELETE FROM perfbot.rollup_hour WHERE bucket < $1", NOW - HOUR_)
        # others rebuilt so much that the log was pruned past this process's last look
        await conn.execute(
            "INSERT INTO perfbot.rollup_rebuilds (id, range_from, range_to)"
            " SELECT max(id) + 5, $1, $1 FROM perfbot.rollup_rebuilds",
            NOW + timedelta(days=1),
        )
        await conn.execute(
            "DELETE FROM perfbot.rollup_rebuilds WHERE id < (SELECT max(id) FROM perfbot.rollup_rebuilds)"
        )
    await store.rollups.refresh(NOW + MIN, initial_backfill=WEEK)
    assert sum((await store.rollups.recent_hours(NOW, span)).n) < len(first)


async def test_a_replica_firing_on_the_same_slot_stands_on_the_others_refresh(
    store: Store,
) -> None:
    """Replicas fire on one grid: the second refresh of the same moment does not rebuild it
    again; rows that arrived in between are rolled up by its next refresh. A process
    refreshing twice itself rebuilds twice."""
    start = floor_to(NOW, MIN) - 5 * MIN
    await store.metrics.add(samples("commit", start, 5, 4, seed=41))
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    await store.rollups.backfill()

    async def logged() -> int:
        async with store.connector.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM perfbot.rollup_rebuilds"))

    other = RollupRepository(store.connector, store.operations)
    at = NOW + timedelta(seconds=10)
    await other.refresh(at, initial_backfill=WEEK)
    before = await logged()
    late = samples("commit", floor_to(NOW, MIN) - MIN, 1, 3, seed=42)
    await store.metrics.add(late)
    skipped = await store.rollups.refresh(at + timedelta(milliseconds=500), initial_backfill=WEEK)
    assert skipped.streamed_from == skipped.streamed_to
    assert await logged() == before
    again = await store.rollups.refresh(at + timedelta(seconds=2), initial_backfill=WEEK)
    assert again.streamed_from < again.streamed_to
    assert await logged() == before + 1
    minutes = await store.rollups.between("minute", start, NOW)
    assert sum(minutes.n) == 5 * 4 + 3
    await store.rollups.refresh(at + timedelta(seconds=2.5), initial_backfill=WEEK)  # itself
    assert await logged() == before + 2


async def test_a_refresh_in_the_first_minute_of_an_hour_rolls_that_minute_up(store: Store) -> None:
    """`now` (12:00:30) is past an hour boundary and not on a minute: the minute of 12:00 holds
    the row of 12:00:10, and so does the current hour, merged from its minutes; the hour of
    11:00, complete, is stored (built from its minutes), the current one is not."""
    await store.metrics.add(
        [
            Metric(
                operation_type="commit", duration_ms=5.0, recorded_at=NOW - timedelta(seconds=60)
            ),
            Metric(
                operation_type="commit", duration_ms=7.0, recorded_at=NOW - timedelta(seconds=20)
            ),
        ]
    )
    await store.rollups.refresh(NOW, initial_backfill=WEEK)
    hour = floor_to(NOW, HOUR_)
    minutes = await store.rollups.between("minute", hour - MIN, NOW)
    hours = await store.rollups.hours_until(hour - HOUR_, NOW)
    stored = await store.rollups.between("hour", hour - HOUR_, hour + HOUR_)
    assert [as_datetime(b) for b in stored.bucket] == [hour - HOUR_]
    assert [(as_datetime(b), int(n)) for b, n in zip(minutes.bucket, minutes.n, strict=True)] == [
        (hour - MIN, 1),
        (hour, 1),
    ]
    assert [(as_datetime(b), int(n)) for b, n in zip(hours.bucket, hours.n, strict=True)] == [
        (hour - HOUR_, 1),
        (hour, 1),
    ]
