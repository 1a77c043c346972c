"""Reading rollups: ranges of minute or hour rollups, the current hour (stored only once
complete, so merged from its minutes), and the caches detection reads every cycle (the week of
complete hours, the last couple of hours of minutes). `RollupRepository` builds the rollups and
keeps these caches up to date."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from bot.analysis.partition import narrow
from bot.analysis.rollups import Rollups, as_datetime64
from bot.store import rollup_columns
from bot.store.connector import Connector
from bot.store.hour_cache import HourCache, present
from bot.store.queries import QUERIES
from bot.store.rollup_ranges import floor_to

READ_CHUNK = timedelta(days=1)  # hourly rollups are read at most this much per statement
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


class RollupReads:
    """The reads of `RollupRepository`, over its connector and caches."""

    _db: Connector
    _hours: HourCache
    _minutes: HourCache
    # The current hour merged from the minute cache's rows (that object), up to a cycle's end.
    _current: tuple[Rollups, datetime, Rollups] | None = None

    async def between(
        self, resolution: str, start: datetime, end: datetime, *, histograms: bool = True
    ) -> Rollups:
        """Rollups (`minute` or `hour`) with bucket in [start, end), ordered by bucket. Without
        `histograms` only moments and extremes are read (correlation needs no more)."""
        if resolution not in ("hour", "minute"):
            raise ValueError(f"unknown rollup resolution {resolution!r}")
        seconds = 3600 if resolution == "hour" else 60
        if resolution == "hour" and end - start > READ_CHUNK:
            # A week of thousands of operations is millions of rows: read a day per statement
            # (each well inside the command timeout), in order, and join them.
            bounds = [start + i * READ_CHUNK for i in range(-(-(end - start) // READ_CHUNK))]
            # Each day narrowed as read: the joined week is not built in int64 first.
            parts = [await self.between("hour", a, min(a + READ_CHUNK, end)) for a in bounds]
            parts = [await asyncio.to_thread(narrow, p) for p in parts if len(p)]
            if not parts:
                return Rollups.empty((), seconds)
            names = tuple(sorted({name for p in parts for name in p.operations}))
            return await asyncio.to_thread(lambda: Rollups.concat([p.recode(names) for p in parts]))
        if histograms or resolution == "hour":
            async with self._db.connection() as conn:
                row = await conn.fetchrow(QUERIES[f"rollup_{resolution}_columns"], start, end)
            assert row is not None
            # Building columns is CPU work: off the event loop.
            return await asyncio.to_thread(rollup_columns.from_columns, row, seconds)
        async with self._db.connection() as conn:
            records = await conn.fetch(QUERIES["rollup_minute_means"], start, end)
        plain = [dict(r.items()) for r in records]
        return await asyncio.to_thread(Rollups.from_records, plain, resolution_s=seconds)

    async def hours_by_day(self, start: datetime, now: datetime) -> AsyncIterator[Rollups]:
        """`hours_until` a day of hourly rollups at a time (the current hour last), for
        readers that fold them (baselines): a week of thousands of operations is never in
        memory at once."""
        hour = floor_to(now, HOUR)
        day = start
        while day < hour:
            yield await self.between("hour", day, min(day + READ_CHUNK, hour))
            day += READ_CHUNK
        minutes = await self.between("minute", max(start, hour), now)
        yield await asyncio.to_thread(minutes.coarsen, 3600)

    async def hours_until(self, start: datetime, now: datetime) -> Rollups:
        """Hourly rollups from `start` to `now`, with histograms, ordered by bucket: the
        complete hours as stored, the current hour merged from its minutes (the refresh stores
        an hour only once it is complete)."""
        hour = floor_to(now, HOUR)
        complete = await self.between("hour", start, hour)
        minutes = await self.between("minute", max(start, hour), now)
        return await asyncio.to_thread(_with_current, complete, minutes)

    async def recent_hours(self, end: datetime, span: timedelta) -> Rollups:
        """`hour_parts` joined: the hourly rollups of [floor(end) - span, end)."""
        complete, current = await self.hour_parts(end, span)
        names = tuple(sorted(set(complete.operations) | set(current.operations)))
        return await asyncio.to_thread(
            lambda: Rollups.concat([complete.recode(names), current.recode(names)])
        )

    async def hour_parts(self, end: datetime, span: timedelta) -> tuple[Rollups, Rollups]:
        """The hourly rollups of [floor(end) - span, end) in two parts: the complete hours from
        the cache (the same object until an hour completes or is rebuilt) and the current hour
        [floor(end), end) merged from its minutes (from the minute cache when it covers them:
        the detection cycle reads them anyway)."""
        hour = floor_to(end, HOUR)
        complete = await self._hours.hours(hour, span, self._read_hours)
        cached = self._minutes.span
        if end != floor_to(end, MINUTE) or cached is None or hour < end - cached:
            minutes = await self.between("minute", hour, end)
            return complete, await asyncio.to_thread(minutes.coarsen, 3600)
        rows = await self._minutes.hours(end, cached, self._read_minutes)
        if self._current is not None and self._current[0] is rows and self._current[1] == end:
            return complete, self._current[2]  # the shards of a cycle: merged once
        window = (as_datetime64(hour), as_datetime64(end))
        current = await asyncio.to_thread(lambda: present(rows.select(*window)).coarsen(3600))
        self._current = rows, end, current
        return complete, current

    async def _read_hours(self, start: datetime, end: datetime) -> Rollups:
        return await self.between("hour", start, end)

    async def recent_minutes(
        self,
        start: datetime,
        end: datetime,
        upto: datetime,
        span: timedelta,
        *,
        histograms: bool = True,
    ) -> Rollups:
        """Minute rollups with bucket in [start, end), ordered by bucket: as `between`, but
        from the cache of the complete minutes [upto - span, upto) (`upto` a minute boundary,
        the cycle's end), which reads only the minutes rebuilt or completed since its last
        read (each cycle: the refresh's few minutes). A range outside it is read directly."""
        if start < upto - span or end > upto or upto != floor_to(upto, MINUTE):
            return await self.between("minute", start, end, histograms=histograms)
        rows = await self._minutes.hours(upto, span, self._read_minutes)
        return present(rows.select(as_datetime64(start), as_datetime64(end)))

    async def _read_minutes(self, start: datetime, end: datetime) -> Rollups:
        return await self.between("minute", start, end)

    async def hours_of(
        self, operation: str, start: datetime, end: datetime, now: datetime | None = None
    ) -> Rollups:
        """Hourly rollups of one operation with bucket in [start, end), with histograms; the
        current hour (`now`'s, default `end`'s, stored only once complete) merged from its
        minutes."""
        now = end if now is None else now
        hour = floor_to(now, HOUR)
        async with self._db.connection() as conn:
            records = await conn.fetch(
                QUERIES["rollup_hour_rows_of"], start, min(end, hour), operation
            )
        complete = Rollups.from_records(records, resolution_s=3600)
        if end <= hour:
            return complete
        minutes = await self.minutes_of(operation, max(start, hour), min(end, now))
        return _with_current(complete, minutes)

    async def minutes_of(self, operation: str, start: datetime, end: datetime) -> Rollups:
        """Minute rollups of one operation with bucket in [start, end), with histograms."""
        async with self._db.connection() as conn:
            records = await conn.fetch(QUERIES["rollup_minute_rows_of"], start, end, operation)
        return Rollups.from_records(records, resolution_s=60)


def _with_current(complete: Rollups, minutes: Rollups) -> Rollups:
    """Complete hours followed by the hour merged from `minutes` (those of the current hour)."""
    current = minutes.coarsen(3600)
    names = tuple(sorted(set(complete.operations) | set(current.operations)))
    return Rollups.concat([complete.recode(names), current.recode(names)])
