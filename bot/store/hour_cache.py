"""The caches of rollups that detection reads every cycle: complete hours of hourly rollups (a
week, for seasonality and degradation) and complete minutes of minute rollups (the last couple
of hours, for the robust detector's reference, the new window and the traffic check). Each is
kept up to date incrementally: a rebuild (the streaming refresh, a late commit, a back-fill
chunk, an ingest of back-dated rows) forgets only the buckets it rebuilt, and the next read
fetches only those and the buckets completed since, so a back-dated ingest of 60 rows costs one
hour's read, not a week's. (Rebuilds replace whole buckets for every operation, so an hour, or
for the minute cache a minute, is the unit.)"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import numpy as np

from bot.analysis.partition import by_bucket, narrow
from bot.analysis.rollups import Rollups, as_datetime64

HOUR = timedelta(hours=1)
Range = tuple[datetime, datetime]
Reader = Callable[[datetime, datetime], Awaitable[Rollups]]


def _floor(when: datetime, step: timedelta = HOUR) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=when.tzinfo)
    return when - (when - epoch) % step


def _ceil(when: datetime, step: timedelta = HOUR) -> datetime:
    floor = _floor(when, step)
    return floor if floor == when else floor + step


def merged(ranges: list[Range]) -> list[Range]:
    """Sorted, non-overlapping cover of half-open ranges (adjacent ones joined)."""
    out: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


class HourCache:
    """Complete buckets [end - span, end) of rollups (hours; with `step` a minute, minutes),
    and the buckets rebuilt since read."""

    def __init__(self, step: timedelta = HOUR) -> None:
        self._step = step
        self._rows: Rollups | None = None
        self._span = timedelta(0)
        self._end: datetime | None = None
        self._stale: list[Range] = []
        # Reads in progress, and what was invalidated or cleared meanwhile (other jobs of the
        # process run rebuilds while a read awaits): a read must not forget those.
        self._reads = 0
        self._arrived: list[tuple[datetime, datetime | None]] = []
        self._clears = 0

    @property
    def span(self) -> timedelta | None:
        """The span of the buckets cached (None when nothing is)."""
        return None if self._rows is None else self._span

    def fresh(self, start: datetime, end: datetime) -> Rollups | None:
        """The cached rows of [start, end) when the cache holds all of it and none of it was
        invalidated since read; else None."""
        if self._rows is None or self._end is None:
            return None
        if start < self._end - self._span or end > self._end:
            return None
        if any(a < end and start < b for a, b in self._stale):
            return None
        return self._rows.select(as_datetime64(start), as_datetime64(end))

    def invalidate(self, start: datetime, end: datetime | None = None) -> None:
        """Forget the cached buckets that a rebuild of [start, end) touched (to the end of time
        when `end` is None)."""
        if self._reads:
            self._arrived.append((start, end))
        if self._rows is not None and self._end is not None:
            self._stale = self._with_stale(self._stale, start, end, self._end)

    def _with_stale(
        self, stale: list[Range], start: datetime, end: datetime | None, upto: datetime
    ) -> list[Range]:
        stop = upto if end is None else min(_ceil(end, self._step), upto)
        low = _floor(start, self._step)
        return merged([*stale, (low, stop)]) if low < stop else stale

    def clear(self) -> None:
        """Forget everything (another process may have rebuilt any of it)."""
        self._rows, self._end, self._stale = None, None, []
        self._clears += 1

    def missing(self, hour: datetime, span: timedelta) -> list[Range]:
        """The ranges a read of [hour - span, hour) must fetch."""
        start = hour - span
        if self._rows is None or self._end is None or span != self._span or hour < self._end:
            return [(start, hour)]
        wanted = [(max(a, start), min(b, hour)) for a, b in [*self._stale, (self._end, hour)]]
        return merged(wanted)

    async def hours(self, hour: datetime, span: timedelta, read: Reader) -> Rollups:
        """The hourly rollups of [hour - span, hour), ordered by bucket, reading with `read`
        only the ranges missing from the cache. What was invalidated while it read stays stale
        for the next read; after a `clear` meanwhile, nothing read is kept."""
        ranges = self.missing(hour, span)
        if not ranges and self._rows is not None and hour == self._end:
            return self._rows  # nothing changed: no copy of the whole span
        cached = self._rows if ranges != [(hour - span, hour)] else None
        mark, clears = len(self._arrived), self._clears
        self._reads += 1
        try:
            parts = [await read(a, b) for a, b in ranges]
            # Copies of the whole span: off the event loop.
            rows = await asyncio.to_thread(_merge, cached, parts, ranges, hour - span, hour)
        finally:
            self._reads -= 1
        arrived = self._arrived[mark:]
        if not self._reads:
            self._arrived = []
        if self._clears != clears:
            return rows
        stale: list[Range] = []
        for start, end in arrived:
            stale = self._with_stale(stale, start, end, hour)
        self._rows, self._span, self._end, self._stale = rows, span, hour, stale
        return rows


def _merge(
    cached: Rollups | None,
    parts: list[Rollups],
    ranges: list[Range],
    start: datetime,
    end: datetime,
) -> Rollups:
    """The cached rows of [start, end) less `ranges`, with `parts` (the fresh reads of those
    ranges, in order, each within its range), ordered by bucket. When the cache and the parts
    are ordered by bucket (as reads and earlier merges are), the cached stretches between the
    ranges and the parts are laid end to end: the same rows in the same order as a stable sort
    by bucket would give, without sorting the span (two hours of minutes at 10,000 operations:
    a second a cycle)."""
    if cached is None or not cached.time_sorted or not all(p.time_sorted for p in parts):
        return _merge_by_sort(cached, parts, ranges, start, end)
    edges = [start, *(t for r in ranges for t in r), end]
    kept = [
        cached.select(as_datetime64(edges[2 * i]), as_datetime64(edges[2 * i + 1]))
        for i in range(len(ranges) + 1)
    ]
    pieces = [p for pair in zip(kept, [*parts, None], strict=True) for p in pair if p is not None]
    # the fresh parts narrowed before joining: the joined span is not copied twice
    return _joined([narrow(p) for p in pieces if len(p)])


def _merge_by_sort(
    cached: Rollups | None,
    parts: list[Rollups],
    ranges: list[Range],
    start: datetime,
    end: datetime,
) -> Rollups:
    """`_merge` for rows in any order: the kept rows and the parts, sorted by bucket (stable)."""
    kept = Rollups.empty()
    if cached is not None:
        kept = cached.select(as_datetime64(start), as_datetime64(end))
        for a, b in ranges:
            kept = kept.exclude(as_datetime64(a), as_datetime64(b))
    pieces = [p for p in [kept, *parts] if len(p)]
    rows = _joined(pieces)
    return narrow(by_bucket(rows) if len(pieces) > 1 else rows)


def _joined(pieces: list[Rollups]) -> Rollups:
    """The pieces end to end, coded by all their operations."""
    names = tuple(sorted({name for p in pieces for name in p.operations}))
    return Rollups.concat([p.recode(names) for p in pieces]) if pieces else Rollups.empty()


def present(rows: Rollups) -> Rollups:
    """`rows` coded by only the operations that have rows (as a read of their range names)."""
    if not len(rows):
        return Rollups.empty((), rows.resolution_s)
    used = np.zeros(len(rows.operations), dtype=bool)
    used[rows.op] = True
    if used.all():
        return rows
    return rows.recode(tuple(name for name, u in zip(rows.operations, used, strict=True) if u))
