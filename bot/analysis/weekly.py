"""The degradation check's aggregates of the complete hours, kept from cycle to cycle.

`assess_degradation` merges a week of hourly rollups (with histograms) into per-operation halves
and days every cycle, although only the current, partial hour changes between the cycles of an
hour. `Week` holds what the complete hours give: per operation, the quantiles and counts of the
halves and days the partial hour cannot fall into (final), and the merged histogram, count and
extremes of the one half and the one day it falls into (open). A cycle adds the partial hour's
rows to the open groups only. Histograms add exactly and quantiles of a row depend on that row
alone, so `Week.assess` returns exactly what `assess_degradation` returns on the concatenated
rows (tests/unit/analysis/test_weekly.py compares them).

A `Week` is valid for the complete rows it was built from (the same object: the store's hour
cache hands out a new one whenever an hour completes or is rebuilt), for `now` within the same
hour-aligned window, and for the same spike hours among the complete hours per operation:
`WeekMemo.week` rebuilds it when the rows or the window change, and re-merges only the
operations whose spike hours changed."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from bot.analysis import partition
from bot.analysis.degradation import HALF_QUANTILES, Degradation, verdicts, window
from bot.analysis.histogram import N_BUCKETS, FloatArray, IntArray, quantiles
from bot.analysis.params import DegradationParams
from bot.analysis.rollups import Rollups, as_datetime64
from bot.analysis.summary import Summary

HOUR_S = 3600
Key = tuple[int, int, int, int, timedelta]
Spikes = Mapping[str, Collection[datetime]]


def _ceil_hour(moment: datetime) -> int:
    seconds = int(np.ceil(moment.timestamp()))
    return -(-seconds // HOUR_S) * HOUR_S


def key_of(params: DegradationParams, now: datetime) -> Key:
    """For hour-aligned buckets, which rows the window selects and which half and day each
    falls in depend only on these (the start, midpoint and end rounded up to the hour)."""
    start, mid, _ = window(params, now)
    return _ceil_hour(start), _ceil_hour(mid), _ceil_hour(now), _floor_hour(now), params.lookback


def _floor_hour(moment: datetime) -> int:
    return int(np.floor(moment.timestamp())) // HOUR_S * HOUR_S


@dataclass(frozen=True, eq=False)
class Family:
    """Per operation, aggregates of `m` groups (halves or days): `q` (operations x m x len(qs))
    final for every group but `open`, and `n`; for the open group (-1: none) its histogram,
    without the partial hour, and extremes."""

    q: FloatArray
    n: IntArray
    open: int
    hist: IntArray
    lo: FloatArray
    hi: FloatArray

    def merged(self, q: FloatArray, codes: IntArray, extra: Summary) -> tuple[FloatArray, IntArray]:
        """(`q`, `n`) for the operations `codes` (-1: unknown) with the `extra` rows' summary
        (one key per code) added to the open group."""
        qs = _take(self.q, codes, np.nan)
        n = _take(self.n, codes, 0)
        if self.open < 0:
            return qs, n
        hist = _take(self.hist, codes, 0)
        lo = _take(self.lo, codes, np.inf)
        hi = _take(self.hi, codes, -np.inf)
        if extra.hist is not None:
            hist = hist + extra.hist
        lo, hi = np.minimum(lo, extra.min_ms), np.maximum(hi, extra.max_ms)
        n[:, self.open] += extra.n
        qs[:, self.open] = quantiles(hist, q, lo, hi)
        return qs, n


def _take(array: np.ndarray, codes: IntArray, fill: float) -> np.ndarray:
    """`array[codes]`, `fill` where a code is -1."""
    out = np.full((len(codes), *array.shape[1:]), fill, dtype=array.dtype)
    known = codes >= 0
    out[known] = array[codes[known]]
    return out


@dataclass(frozen=True, eq=False)
class Week:
    """The complete hours' aggregates of `operations` for the window `key`."""

    operations: tuple[str, ...]
    key: Key
    end: int  # the complete hours end here (the partial hour's start), epoch seconds
    rows: IntArray  # complete rows in the window per operation, spike hours left out
    halves: Family
    days: Family
    spikes: Mapping[str, frozenset[int]]

    def assess(
        self, partial: Rollups, params: DegradationParams, now: datetime, spike_hours: Spikes
    ) -> dict[str, Degradation]:
        """`assess_degradation` of the complete rows and `partial` (rows of the hour from
        `end`), for the operations of `partial`."""
        start, mid, days = window(params, now)
        rows = partial.select(as_datetime64(start), as_datetime64(now)).without(spike_hours)
        index = {name: i for i, name in enumerate(self.operations)}
        codes = np.array([index.get(name, -1) for name in rows.operations], dtype=np.int64)
        complete = _take(self.rows, codes, 0)
        if int(complete.sum()) + len(rows) == 0:
            return {}
        late = int(self.end >= int(as_datetime64(mid).astype(np.int64)))
        day = _day(self.end, start, days)
        if (late != self.halves.open or day != self.days.open) and len(rows):
            raise ValueError("the partial hour falls outside the open groups")
        extra = Summary.of(rows)
        halves, counts = self.halves.merged(np.asarray(HALF_QUANTILES), codes, extra)
        daily, day_counts = self.days.merged(np.asarray([0.99]), codes, extra)
        return verdicts(rows.operations, halves, counts, daily[:, :, 0], day_counts, params, now)


def _day(second: int, start: datetime, days: int) -> int:
    return int(
        np.clip((second - int(as_datetime64(start).astype(np.int64))) // 86_400, 0, days - 1)
    )


def _spikes(spike_hours: Spikes, lo: int, hi: int) -> dict[str, frozenset[int]]:
    """Per operation, the spike hours among the complete ones [lo, hi) (epoch seconds)."""
    out = {}
    for name, hours in spike_hours.items():
        inside = frozenset(s for s in (int(h.timestamp()) for h in hours) if lo <= s < hi)
        if inside:
            out[name] = inside
    return out


def build(
    complete: Rollups,
    params: DegradationParams,
    now: datetime,
    spike_hours: Spikes,
    chunk: int,
) -> Week:
    """The aggregates of `complete` (hour-aligned hourly rollups before the partial hour, which
    starts at its end) at `now`, in chunks of `chunk` operations: the dense temporaries (a
    histogram per operation and day) and the gathered histogram entries are bounded by the
    chunk, and `complete` is never copied whole."""
    start, mid, days = window(params, now)
    end = _floor_hour(now)
    partial = end < now.timestamp()
    span = _span(complete, start, now)  # row numbers: the week is not copied
    bucket = complete.bucket[span]
    if np.any(bucket.astype(np.int64) % HOUR_S) or np.any(bucket >= np.datetime64(end, "s")):
        raise ValueError("the complete hours must be whole hours before the partial one")
    spikes = _spikes(spike_hours, int(as_datetime64(start).astype(np.int64)), end)
    k = len(complete.operations)
    order = span[np.argsort(complete.op[span], kind="stable")]
    order = order[~partition.dropped(complete, spike_hours, order)]
    starts = partition.row_starts(complete)
    pieces = _filled(complete, order, chunk, k, params, now, starts)
    late = int(end >= int(as_datetime64(mid).astype(np.int64)))
    open_day = _day(end, start, days)
    return Week(
        complete.operations,
        key_of(params, now),
        end,
        _cat([p[0] for p in pieces], (0,), np.int64),
        _family([p[1] for p in pieces], k, 2, len(HALF_QUANTILES), late if partial else -1),
        _family([p[2] for p in pieces], k, days, 1, open_day if partial else -1),
        spikes,
    )


def _span(rows: Rollups, start: datetime, end: datetime) -> IntArray:
    """The numbers of the rows whose bucket is in [start, end)."""
    low, high = as_datetime64(start), as_datetime64(end)
    if rows.time_sorted:
        lo, hi = np.searchsorted(rows.bucket, [low, high])
        return np.arange(lo, hi, dtype=np.int64)
    return np.flatnonzero((rows.bucket >= low) & (rows.bucket < high))


def _filled(
    rows: Rollups,
    order: IntArray,
    chunk: int,
    k: int,
    params: DegradationParams,
    now: datetime,
    starts: IntArray,
) -> list["Aggregate"]:
    """Per chunk of operation codes [i * chunk, (i + 1) * chunk), its aggregates (chunks
    without rows included, so that the pieces line up with the operations)."""
    step = max(chunk, 1)
    ops = rows.op[order]
    out = []
    for first in range(0, k, step):
        size = min(step, k - first)
        lo, hi = np.searchsorted(ops, [first, first + size])
        index = order[lo:hi]
        out.append(_aggregate(rows, index, rows.op[index] - first, size, params, now, starts))
    return out


Aggregate = tuple[IntArray, Summary, Summary]


def _aggregate(
    rows: Rollups,
    index: IntArray,
    op: IntArray,
    k: int,
    params: DegradationParams,
    now: datetime,
    starts: IntArray | None = None,
) -> Aggregate:
    """Rows-per-operation, halves and days of the rows `index` of `rows`, whose operations
    are `op` (0 <= op < k); `starts`: `partition.row_starts(rows)`, when known."""
    start, mid, days = window(params, now)
    bucket = rows.bucket[index]
    late = (bucket >= as_datetime64(mid)).astype(np.int64)
    day = np.clip((bucket - as_datetime64(start)).astype(np.int64) // 86_400, 0, days - 1)
    count = np.bincount(op, minlength=k).astype(np.int64)
    halves = partition.summary(rows, index, op * 2 + late, 2 * k, starts)
    daily = partition.summary(rows, index, op * days + day, k * days, starts)
    return count, halves, daily


def _cat(parts: list[IntArray], shape: tuple[int, ...], dtype: type) -> IntArray:
    return np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype)


def _family(parts: list[Summary], k: int, m: int, nq: int, open_: int) -> Family:
    """One Family from per-chunk summaries keyed op * m + group."""
    qs = np.asarray(HALF_QUANTILES if nq == 2 else (0.99,))
    q = [p.quantiles(qs).reshape(-1, m, nq) for p in parts]
    n = [p.n.reshape(-1, m) for p in parts]
    if open_ >= 0:
        hist = [_rows_of(p.hist, m, open_) for p in parts]
        lo = [p.min_ms.reshape(-1, m)[:, open_] for p in parts]
        hi = [p.max_ms.reshape(-1, m)[:, open_] for p in parts]
    else:
        hist, lo, hi = [], [], []
    return Family(
        np.concatenate(q) if q else np.zeros((k, m, nq)),
        np.concatenate(n) if n else np.zeros((k, m), dtype=np.int64),
        open_,
        np.concatenate(hist) if hist else np.zeros((k, N_BUCKETS), dtype=np.int64),
        np.concatenate(lo) if lo else np.full(k, np.inf),
        np.concatenate(hi) if hi else np.full(k, -np.inf),
    )


def _rows_of(hist: IntArray | None, m: int, group: int) -> IntArray:
    if hist is None:
        raise ValueError("the degradation check needs histograms")
    result: IntArray = hist.reshape(-1, m, N_BUCKETS)[:, group].copy()
    return result


def patched(
    week: Week, complete: Rollups, params: DegradationParams, now: datetime, spike_hours: Spikes
) -> Week:
    """`week` with the operations whose complete spike hours differ from its own merged again."""
    start, _, _ = window(params, now)
    spikes = _spikes(spike_hours, int(as_datetime64(start).astype(np.int64)), week.end)
    index = {name: i for i, name in enumerate(week.operations)}
    changed = sorted(
        name
        for name in set(spikes) | set(week.spikes)
        if spikes.get(name, frozenset()) != week.spikes.get(name, frozenset()) and name in index
    )
    if not changed:
        return week
    span = _span(complete, start, now)  # row numbers: the week is not copied
    at = np.array([index[n] for n in changed], dtype=np.int64)
    local = np.full(len(week.operations), -1, dtype=np.int64)
    local[at] = np.arange(len(changed))
    mine = span[local[complete.op[span]] >= 0]
    mine = mine[~partition.dropped(complete, spike_hours, mine)]
    count, halves, daily = _aggregate(
        complete, mine, local[complete.op[mine]], len(changed), params, now
    )
    k = len(changed)
    fresh_h = _family([halves], k, 2, len(HALF_QUANTILES), week.halves.open)
    fresh_d = _family([daily], k, week.days.n.shape[1], 1, week.days.open)
    return replace(
        week,
        rows=_put(week.rows, at, count),
        halves=_put_family(week.halves, at, fresh_h),
        days=_put_family(week.days, at, fresh_d),
        spikes=spikes,
    )


def _put(array: np.ndarray, at: IntArray, values: np.ndarray) -> np.ndarray:
    out = array.copy()
    out[at] = values
    return out


def _put_family(old: Family, at: IntArray, new: Family) -> Family:
    return Family(
        _put(old.q, at, new.q),
        _put(old.n, at, new.n),
        old.open,
        _put(old.hist, at, new.hist) if old.open >= 0 else old.hist,
        _put(old.lo, at, new.lo) if old.open >= 0 else old.lo,
        _put(old.hi, at, new.hi) if old.open >= 0 else old.hi,
    )


@dataclass(frozen=True, eq=False)
class Hours:
    """A cycle's hourly rollups in parts: the `week` aggregates of the `complete` hours and the
    `partial` hour's rows (both with histograms)."""

    week: Week
    complete: Rollups
    partial: Rollups

    def rows_of(self, operations: Sequence[str]) -> Rollups:
        """The rows of `operations`, complete hours first, with histograms."""
        return Rollups.concat([self.complete.recode(operations), self.partial.recode(operations)])


class WeekMemo:
    """The last `Week` built, and the complete rows it was built from."""

    def __init__(self) -> None:
        self._rows: Rollups | None = None
        self._week: Week | None = None

    def week(
        self,
        complete: Rollups,
        params: DegradationParams,
        now: datetime,
        spike_hours: Spikes,
        chunk: int,
    ) -> Week:
        """The `Week` of `complete` at `now`: the last one if still valid (re-merged for the
        operations whose spike hours changed), else built anew."""
        week = self._week
        stale = week is None or self._rows is not complete or week.key != key_of(params, now)
        if week is None or stale:
            week = build(complete, params, now, spike_hours, chunk)
        else:
            week = patched(week, complete, params, now, spike_hours)
        self._rows, self._week = complete, week
        return week
