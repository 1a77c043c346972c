"""Per-minute and per-hour rollups of the metric source, maintained incrementally.

Each refresh rebuilds, from raw rows, only the minutes since the rollup watermark (less a grace
for late commits) plus any backfill ranges that ingest recorded; hours are then merged from
their minutes. Detection, baselines, correlation and trends read rollups, never raw history."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot.analysis import histogram
from bot.store.base import StoreBase
from bot.store.queries import QUERIES

ROLLUP_WATERMARK = "rollup"
ROLLUP_LOCK_KEY = 0x7065_7266_726F_6C6C  # "perfroll"
LATE_GRACE = timedelta(seconds=60)
BACKFILL_CHUNK = timedelta(hours=6)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def floor_to(when: datetime, step: timedelta) -> datetime:
    """`when` rounded down to a multiple of `step` since the epoch (UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=when.tzinfo)
    return when - (when - epoch) % step


@dataclass(frozen=True)
class RollupRefresh:
    """What one refresh rebuilt: the streaming range and any backfill ranges."""

    streamed_from: datetime
    streamed_to: datetime
    backfilled: tuple[tuple[datetime, datetime], ...] = ()


@dataclass
class RollupRows:
    """Rollup rows as parallel lists (the analysis layer turns them into arrays). Histogram
    entries are flattened: `hist_row[k]` is the row index of bucket `hist_idx[k]`."""

    operation_type: list[str] = field(default_factory=list)
    bucket: list[datetime] = field(default_factory=list)
    n: list[int] = field(default_factory=list)
    sum_ms: list[float] = field(default_factory=list)
    m2_ms: list[float] = field(default_factory=list)
    sum_log: list[float] = field(default_factory=list)
    m2_log: list[float] = field(default_factory=list)
    min_ms: list[float] = field(default_factory=list)
    max_ms: list[float] = field(default_factory=list)
    hist_row: list[int] = field(default_factory=list)
    hist_idx: list[int] = field(default_factory=list)
    hist_cnt: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.n)


def _merge_ranges(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Hour-aligned, sorted, non-overlapping cover of the given closed ranges."""
    aligned = sorted((floor_to(a, HOUR), floor_to(b, HOUR) + HOUR) for a, b in ranges)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in aligned:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class RollupsMixin(StoreBase):
    async def refresh_rollups(self, now: datetime, *, initial_backfill: timedelta) -> RollupRefresh:
        """Bring rollups up to `now`. On the first run (no watermark) the last
        `initial_backfill` of the source is rolled up, e.g. an existing pgGit history."""
        hist_args = (histogram.MIN_MS, histogram.SCALE, histogram.N_BUCKETS)
        async with self.connection() as conn, conn.transaction():
            await conn.execute(QUERIES["rollup_lock"], ROLLUP_LOCK_KEY)
            watermark: datetime | None = await conn.fetchval(
                QUERIES["get_watermark"], ROLLUP_WATERMARK
            )
            ranges = [
                (r["range_from"], r["range_to"])
                for r in await conn.fetch(QUERIES["take_dirty_ranges"])
            ]
            if watermark is None:
                ranges.append((now - initial_backfill, now))
                watermark = now
            backfilled = _merge_ranges(ranges)
            for start, end in backfilled:
                chunk = start
                while chunk < end:
                    stop = min(chunk + BACKFILL_CHUNK, end)
                    await _rebuild(conn, chunk, stop, hist_args)
                    chunk = stop
            streamed_from = floor_to(min(watermark, now) - LATE_GRACE, MINUTE)
            await _rebuild(conn, streamed_from, now, hist_args)
            await conn.execute(QUERIES["set_watermark"], ROLLUP_WATERMARK, now)
        return RollupRefresh(streamed_from, now, tuple(backfilled))

    async def rollup_rows(
        self, resolution: str, start: datetime, end: datetime, *, histograms: bool = True
    ) -> RollupRows:
        """Rollups (`minute` or `hour`) with bucket in [start, end), oldest first."""
        if resolution == "hour":
            query = QUERIES["rollup_hour_rows"]
        elif resolution == "minute":
            query = QUERIES["rollup_minute_rows" if histograms else "rollup_minute_means"]
        else:
            raise ValueError(f"unknown rollup resolution {resolution!r}")
        async with self.connection() as conn:
            records = await conn.fetch(query, start, end)
        rows = RollupRows()
        for i, r in enumerate(records):
            rows.operation_type.append(r["operation_type"])
            rows.bucket.append(r["bucket"])
            rows.n.append(r["n"])
            rows.sum_ms.append(r["sum_ms"])
            rows.m2_ms.append(r["m2_ms"])
            rows.sum_log.append(r["sum_log"])
            rows.m2_log.append(r["m2_log"])
            rows.min_ms.append(r["min_ms"])
            rows.max_ms.append(r["max_ms"])
            if histograms:
                idx = r["hist_idx"]
                rows.hist_row.extend([i] * len(idx))
                rows.hist_idx.extend(idx)
                rows.hist_cnt.extend(r["hist_cnt"])
        return rows

    async def known_operations(self, since: datetime) -> list[str]:
        """Operations with data since `since`, busiest first."""
        async with self.connection() as conn:
            return [
                r["operation_type"] for r in await conn.fetch(QUERIES["known_operations"], since)
            ]

    async def get_watermark(self, name: str) -> datetime | None:
        async with self.connection() as conn:
            value: datetime | None = await conn.fetchval(QUERIES["get_watermark"], name)
            return value

    async def set_watermark(self, name: str, value: datetime) -> None:
        async with self.connection() as conn:
            await conn.execute(QUERIES["set_watermark"], name, value)

    async def prune_rollups(self, minute_before: datetime, hour_before: datetime) -> int:
        """Delete rollups older than the retention cut-offs; returns rows deleted."""
        async with self.connection() as conn:
            a = await conn.execute(QUERIES["delete_rollup_minute_before"], minute_before)
            b = await conn.execute(QUERIES["delete_rollup_hour_before"], hour_before)
        return int(a.split()[-1]) + int(b.split()[-1])


async def _rebuild(
    conn: "asyncpg.pool.PoolConnectionProxy[Any]",
    start: datetime,
    end: datetime,
    hist_args: tuple[float, float, int],
) -> None:
    """Rebuild minute rollups of [start, end) from raw rows, then the hours they touch."""
    await conn.execute(QUERIES["delete_rollup_minute"], start, end)
    await conn.execute(QUERIES["build_rollup_minute"], start, end, *hist_args)
    hour_from, hour_to = floor_to(start, HOUR), floor_to(end - MINUTE, HOUR) + HOUR
    await conn.execute(QUERIES["delete_rollup_hour"], hour_from, hour_to)
    await conn.execute(QUERIES["build_rollup_hour"], hour_from, hour_to)
