"""The rollups repository: per-minute and per-hour rollups of the metric source, maintained
incrementally.

Each refresh (every detection cycle) rebuilds, from raw rows, only the recent edge: the minutes
since the rollup watermark, and any minute or hour whose source count grew since it was rolled
up (rows committed late: a slow operation in a long transaction is stamped when its
transaction began; each refresh re-counts the last `late.grace` per minute, and once an hour
the last `late.check` per hour). Older ranges that need rolling up,
the source's history on the first refresh (`initial_backfill`) and the ranges an ingest of
back-dated rows recorded (`perfbot.rollup_dirty`), are not rebuilt there: the refresh merges
them into a few hour-aligned pending ranges in `perfbot.rollup_dirty`, which is the persisted
back-fill cursor. `backfill_step` then rolls them up one chunk (at most BACKFILL_CHUNK) per
transaction, newest first (detection's reference, the last day and week, is ready first) and
shrinks the pending range in the same transaction: an interruption loses at most the chunk in
progress, and nothing is rebuilt twice. The `backfill` job and `perfbot rollups rebuild` run the
steps; detection scores live minutes meanwhile. The back-fill builds hours from raw rows with
their minutes; the refresh stores an hour once it is complete, merged from its minute rollups,
and readers take the current hour from its minutes (`rollup_reads`).

Detection, baselines, correlation and trends read rollups, never raw history. The detection
cycle's week of hourly rollups is cached here too, because only this repository knows which
hours it rebuilt and so when the cache must be forgotten. Only rows of known operations are
rolled up: before each rebuild it admits the range's new valid names while the caps allow
(`operations.py`), and counts and logs the rows it skips."""

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot.analysis import histogram
from bot.models import EARLIEST
from bot.store import rollup_columns
from bot.store.connector import Connector
from bot.store.hour_cache import HourCache
from bot.store.operations import OperationRepository, SourceSkips
from bot.store.queries import QUERIES
from bot.store.rollup_ranges import BackfillChunk as BackfillChunk
from bot.store.rollup_ranges import Backlog as Backlog
from bot.store.rollup_ranges import LateRows as LateRows
from bot.store.rollup_ranges import Range as Range
from bot.store.rollup_ranges import RollupRefresh as RollupRefresh
from bot.store.rollup_ranges import floor_to as floor_to
from bot.store.rollup_ranges import merge_ranges, runs
from bot.store.rollup_reads import RollupReads

logger = logging.getLogger(__name__)

ROLLUP_WATERMARK = "rollup"
LATE_CHECK_WATERMARK = "late_check"
# The rebuilds logged for other processes' caches (`perfbot.rollup_rebuilds`): the last this many.
REBUILDS_KEPT = 10_000
LATE_CHECK_EVERY = timedelta(hours=1)
ROLLUP_LOCK_KEY = 0x7065_7266_726F_6C6C  # "perfroll"
LATE_GRACE = timedelta(seconds=60)
# A refresh finding that another process refreshed the rollups up to at most this long before its
# `now` (a replica firing on the same slot) stands on that one instead of doing it again: rows that arrived in between are rows of the
# current minute (less than `detection.settle` old) or late ones, which the next refresh rolls up.
SHARED_REFRESH = timedelta(seconds=1)
BACKFILL_CHUNK = timedelta(hours=6)
MAX_BACKFILL = timedelta(days=400)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
_TICK = timedelta(microseconds=1)  # timestamptz resolution


class RollupRepository(RollupReads):
    """Minute and hour rollups over one connector, and the cache of complete hours."""

    def __init__(self, connector: Connector, operations: OperationRepository) -> None:
        self._db = connector
        self._operations = operations
        self._hours = HourCache()
        self._minutes = HourCache(MINUTE)
        self._seen: int | None = None  # the last rebuild logged that the caches account for
        self.late = LateRows()

    async def _own_rebuild(self, conn: "asyncpg.pool.PoolConnectionProxy[Any]") -> bool:
        """Before a rebuild (under the rollup lock): forget the cached buckets that other
        processes (replicas, the CLI) rebuilt since this one last looked, from the log of
        rebuilds; everything when the log no longer reaches back that far (or on the first
        look); and keep the log short. Whether another process rebuilt since."""
        rebuilds = await conn.fetch(QUERIES["rollup_rebuilds_since"], self._seen or 0)
        if self._seen is None or (rebuilds and rebuilds[0]["oldest"] > self._seen + 1):
            self._hours.clear()
            self._minutes.clear()
        else:
            for r in rebuilds:
                self._invalidate(r["range_from"], r["range_to"])
        if rebuilds:
            self._seen = rebuilds[-1]["id"]
        elif self._seen is None:
            self._seen = 0
        await conn.execute(QUERIES["prune_rollup_rebuilds"], REBUILDS_KEPT)
        return bool(rebuilds)

    async def _rebuild(
        self,
        conn: "asyncpg.pool.PoolConnectionProxy[Any]",
        start: datetime,
        end: datetime,
        hist_args: tuple[float, float, int],
        now: datetime | None = None,
    ) -> list[Range]:
        """Rebuild minute rollups of [start, end) and the hours that hold them from raw rows, in
        place: unchanged rows are not rewritten (no dead row per cycle), vanished keys deleted;
        logged for other processes' caches (this one's forgets the range after the commit).
        In the caller's transaction, whose later statements are planned without nested loops.

        With `now` (the refresh: its recent edge and late minutes), a range that is not whole
        hours builds only the complete hours it touches (before `now`'s hour), from their
        minute rollups (`_hours_from_minutes`): rolling up the current hour again from raw rows
        each cycle would cost a whole hour of raw rows by hh:59 (at 10,000 operations, 3 M rows
        and 7-12 s a cycle). Readers take the current hour from its minutes.

        Returns the ranges of hours it changed (for this process's cache of complete hours: an
        hour merged again from its minutes is mostly unchanged)."""
        await conn.execute(QUERIES["rebuild_plans"])
        aligned = floor_to(start, HOUR) == start and floor_to(end, HOUR) == end
        if now is None or aligned:
            # the hours holding [start, end): `end` is the refresh's `now`, rarely on a minute
            hour_from, hour_to = floor_to(start, HOUR), floor_to(end - _TICK, HOUR) + HOUR
            await conn.execute(
                QUERIES["build_rollups"], start, end, *hist_args, hour_from, hour_to, True
            )
            changed = [(hour_from, hour_to)]
        else:
            await conn.execute(QUERIES["build_rollups"], start, end, *hist_args, start, end, False)
            # From here on the cached minutes of [start, end) are not those of the database
            # (after a rollback, they are again: the cache then reads them once more).
            self._minutes.invalidate(start, end)
            hour, current = floor_to(start, HOUR), floor_to(now, HOUR)
            changed = []
            while hour < end and hour < current:
                if await self._hours_from_minutes(conn, hour, max(hour, start)):
                    changed.append((hour, hour + HOUR))
                hour += HOUR
        self._seen = await conn.fetchval(QUERIES["log_rollup_rebuild"], start, end)
        return changed

    async def _hours_from_minutes(
        self, conn: "asyncpg.pool.PoolConnectionProxy[Any]", hour: datetime, rebuilt: datetime
    ) -> bool:
        """Rebuild the hourly rollups of `hour` from its minute rollups, merged in numpy (at
        10,000 operations an hour is 600,000 minute rows): those before `rebuilt` from the
        minute cache when it holds them unchanged (a read and parse of the whole hour cost
        about 5 s at 10,000 operations), the rest from the database. Whether any changed."""
        kept = self._minutes.fresh(hour, rebuilt) if rebuilt > hour else None
        start = hour if kept is None else rebuilt
        row = await conn.fetchrow(QUERIES["rollup_minute_columns"], start, hour + HOUR)
        assert row is not None
        arrays = await asyncio.to_thread(rollup_columns.hour_arrays, row, kept)
        return bool(await conn.fetchval(QUERIES["put_hour_rollups"], hour, hour + HOUR, *arrays))

    def _invalidate(self, start: datetime, end: datetime | None = None) -> None:
        self._hours.invalidate(start, end)
        self._minutes.invalidate(start, end)

    async def refresh(
        self, now: datetime, *, initial_backfill: timedelta, oldest: datetime | None = None
    ) -> RollupRefresh:
        """Bring the recent edge of the rollups up to `now`. Older ranges to roll up (on the
        first run, the last `initial_backfill` of the source, e.g. an existing pgGit history;
        later, back-dated rows that ingest recorded) are left pending for `backfill_step`,
        clipped to start at `oldest` (default: MAX_BACKFILL ago): one ancient metric in a batch
        must not mean rolling up centuries."""
        hist_args = (histogram.MIN_MS, histogram.SCALE, histogram.N_BUCKETS)
        skips = SourceSkips()
        async with self._db.transaction() as conn:
            await conn.execute(QUERIES["advisory_xact_lock"], ROLLUP_LOCK_KEY)
            others = await self._own_rebuild(conn)
            watermark: datetime | None = await conn.fetchval(
                QUERIES["get_watermark"], ROLLUP_WATERMARK
            )
            if others and watermark is not None and watermark >= now - SHARED_REFRESH:
                return RollupRefresh(now, now, (), (), 0)  # another replica's refresh of now
            streamed_from = floor_to(min(watermark or now, now) - LATE_GRACE, MINUTE)
            # Rows that landed inside the streaming window are rebuilt by it; only older ones
            # are left for the back-fill.
            ranges = [
                (r["range_from"], min(r["range_to"], streamed_from))
                for r in await conn.fetch(
                    QUERIES["take_dirty_ranges"], oldest or now - MAX_BACKFILL
                )
                if r["range_from"] < streamed_from
            ]
            if watermark is None:
                start = max(now - initial_backfill, oldest or now - MAX_BACKFILL)
                if start < streamed_from:
                    ranges.append((start, streamed_from))
            pending = merge_ranges(ranges)
            await _put_pending(conn, pending)
            late: list[Range] = []
            late_rows = 0
            hours: list[Range] = []  # the complete hours changed
            if watermark is not None:
                late, late_rows = await self._late(
                    conn, now, watermark, streamed_from, pending, skips
                )
                for start, end in late:
                    hours += await self._rebuild(conn, start, end, hist_args, now)
            # Skipped rows are counted once: those before the old watermark were counted by the
            # refresh that saw them first; on the first run the back-fill counts older ones.
            fresh = max(watermark, streamed_from) if watermark is not None else streamed_from
            await self._operations.admit_source(conn, streamed_from, now, fresh, skips)
            hours += await self._rebuild(conn, streamed_from, now, hist_args, now)
            await conn.execute(QUERIES["set_watermark"], ROLLUP_WATERMARK, now)
        await self._operations.record_skips(skips)
        # The cache of complete hours forgets only those changed; the current hour is read
        # from minutes.
        for start, end in late:
            self._minutes.invalidate(start, end)
        self._minutes.invalidate(streamed_from)
        for start, end in hours:
            self._hours.invalidate(start, end)
        if late_rows:
            await self._record_late(late_rows, late)
        return RollupRefresh(streamed_from, now, tuple(pending), tuple(late), late_rows)

    async def _late(
        self,
        conn: "asyncpg.pool.PoolConnectionProxy[Any]",
        now: datetime,
        watermark: datetime,
        streamed_from: datetime,
        pending: list[Range],
        skips: SourceSkips,
    ) -> tuple[list[Range], int]:
        """The ranges to rebuild for rows committed after their minute was rolled up, and how
        many such rows: minutes of the last `late.grace` whose source count grew, and, once an
        hour, hours of the last `late.check` whose count grew (but none still pending for the
        back-fill, which rolls them up anyway). Only growth counts: a source that deletes old
        rows must not thin out the rollups, which are the durable record."""
        grace_from = floor_to(watermark - self.late.grace, MINUTE)
        if grace_from >= streamed_from:
            return [], 0
        await self._operations.admit_source(conn, grace_from, streamed_from, watermark, skips)
        minutes = await conn.fetch(QUERIES["late_buckets"], grace_from, streamed_from, "minute")
        ranges = runs([r["bucket"] for r in minutes], MINUTE)
        rows = sum(r["source_rows"] - r["rolled_rows"] for r in minutes)
        checked = await conn.fetchval(QUERIES["get_watermark"], LATE_CHECK_WATERMARK)
        check_to = floor_to(grace_from, HOUR)
        if self.late.check and (checked is None or now - checked >= LATE_CHECK_EVERY):
            check_from = floor_to(now - self.late.check, HOUR)
            if check_from < check_to:
                await self._operations.admit_source(conn, check_from, check_to, check_to, skips)
                hours = [
                    r
                    for r in await conn.fetch(QUERIES["late_buckets"], check_from, check_to, "hour")
                    if not any(a < r["bucket"] + HOUR and r["bucket"] < b for a, b in pending)
                ]
                ranges = runs([r["bucket"] for r in hours], HOUR) + ranges
                rows += sum(r["source_rows"] - r["rolled_rows"] for r in hours)
            await conn.execute(QUERIES["set_watermark"], LATE_CHECK_WATERMARK, now)
        return ranges, rows

    async def _record_late(self, rows: int, ranges: list[Range]) -> None:
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["add_late_source_rows"], rows)
        logger.warning(
            "source rows committed late were rolled up",
            extra={
                "action": "late_rows_rolled_up",
                "rows": rows,
                "ranges": [f"{a:%Y-%m-%d %H:%M}-{b:%H:%M}" for a, b in ranges],
            },
        )

    async def late_rows(self) -> int:
        """Rows found committed late and rolled up since the database was created."""
        async with self._db.connection() as conn:
            return int(await conn.fetchval(QUERIES["late_source_rows"]) or 0)

    async def queue(self, start: datetime, end: datetime) -> None:
        """Mark [start, end] to be rolled up again by the back-fill (`perfbot rollups
        rebuild --since`)."""
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["add_dirty_range"], start, end)

    async def backfill_step(self, oldest: datetime) -> BackfillChunk | None:
        """Roll up the newest pending chunk (at most BACKFILL_CHUNK, 6-hour aligned) and commit
        it together with the shrunk pending ranges; None when nothing is pending. Pending
        ranges wholly before `oldest` (past the hourly rollups' retention) are dropped."""
        hist_args = (histogram.MIN_MS, histogram.SCALE, histogram.N_BUCKETS)
        skips = SourceSkips()
        async with self._db.transaction() as conn:
            await conn.execute(QUERIES["advisory_xact_lock"], ROLLUP_LOCK_KEY)
            pending = merge_ranges(
                [
                    (r["range_from"], r["range_to"])
                    for r in await conn.fetch(QUERIES["take_dirty_ranges"], oldest)
                ]
            )
            if not pending:
                return None
            await self._own_rebuild(conn)
            first, end = pending.pop()
            start = max(first, floor_to(end - HOUR, BACKFILL_CHUNK))
            if first < start:
                pending.append((first, start))
            await self._operations.admit_source(conn, start, end, start, skips)
            await self._rebuild(conn, start, end, hist_args)
            await _put_pending(conn, pending)
        await self._operations.record_skips(skips)
        self._invalidate(start, end)
        return BackfillChunk(start, end, Backlog(tuple(pending)))

    async def backfill(self, oldest: datetime = EARLIEST) -> list[BackfillChunk]:
        """Every pending chunk, step by step, until none is left (the demo's start, tests,
        benches); the chunks rolled up. The bot's `backfill` job runs the steps with a budget."""
        chunks = []
        while (chunk := await self.backfill_step(oldest)) is not None:
            chunks.append(chunk)
        return chunks

    async def backlog(self) -> Backlog:
        """The ranges still to roll up, merged (for `/perf status` and progress)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["pending_rollup_ranges"])
        return Backlog(tuple(merge_ranges([(r["range_from"], r["range_to"]) for r in rows])))

    async def backfill_horizon(self) -> datetime | None:
        """The oldest time not yet rolled up (UTC), or None when the back-fill is complete:
        raw rows before it are in the rollups, rows from it on may not be yet (the retention of
        raw metrics must keep them). Before the first refresh nothing is rolled up: EARLIEST."""
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["backfill_horizon"], ROLLUP_WATERMARK)
        assert row is not None
        if not row["refreshed"]:
            return EARLIEST
        oldest: datetime | None = row["oldest"]
        return None if oldest is None else floor_to(oldest, HOUR)

    async def rolled_up_before(self) -> datetime | None:
        """Raw metrics recorded before this moment (UTC) are in the rollups for good: the
        rollup watermark less the late-arrival grace, and no later than the oldest back-fill
        range still waiting. None before the first refresh. Retention prunes raw metrics only
        before it."""
        async with self._db.connection() as conn:
            horizon: datetime | None = await conn.fetchval(QUERIES["rolled_up_before"], LATE_GRACE)
        return horizon


async def _put_pending(conn: "asyncpg.pool.PoolConnectionProxy[Any]", ranges: list[Range]) -> None:
    """Store merged pending ranges back into `perfbot.rollup_dirty` (the caller took them).
    Its ranges are closed (ingest records [first, last] row); these hour-aligned ones are
    half-open [start, end), so they are stored ending just before `end`."""
    for start, end in ranges:
        await conn.execute(QUERIES["add_dirty_range"], start, end - _TICK)
