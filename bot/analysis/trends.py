"""Latency trends per operation for `/perf trends`: p50/p95/p99 per hour or per day from hourly
rollups, the least-squares slope of p99 (only over at least two days of data: a few minutes'
spike in one day is no trend), and the change of the window's p99 against the operation's
baseline. Day buckets may be given as explicit starts (`edges`), so that a day is a calendar day
of the reader's time zone, 23 or 25 hours long across a DST change.

Quantiles come from the merged log-bucket histograms (within about 2.2 % of exact)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from bot.analysis.degradation import DAY_S, least_squares_slope
from bot.analysis.histogram import FloatArray, IntArray
from bot.analysis.rollups import Rollups, as_datetime64
from bot.analysis.summary import Summary
from bot.models import Baseline

MIN_SLOPE_SPAN_S = 2 * DAY_S


@dataclass(frozen=True, eq=False)
class Trend:
    """One operation over [start, end) in buckets of `resolution_s` seconds (3600 or 86400).
    Per bucket: start time (datetime64[s], UTC), count, p50/p95/p99 in ms (NaN when empty).
    `slope_ms_per_day`: least-squares slope of p99 (None unless the buckets from the first to
    the last with data cover at least two days).
    `change_pct`: the whole window's p99 against the baseline p99, in % (None without one)."""

    operation: str
    resolution_s: int
    buckets: npt.NDArray[np.datetime64]
    count: IntArray
    p50_ms: FloatArray
    p95_ms: FloatArray
    p99_ms: FloatArray
    window_p99_ms: float
    slope_ms_per_day: float | None
    baseline_p99_ms: float | None
    change_pct: float | None


def trends(
    hourly: Rollups,
    start: datetime,
    end: datetime,
    *,
    resolution_s: int = 3600,
    baselines: Mapping[str, Baseline] | None = None,
    operations: Sequence[str] | None = None,
    edges: Sequence[datetime] | None = None,
) -> list[Trend]:
    """Trends of `operations` (default: every operation with data in the window), sorted by
    name, from hourly rollups in [start, end). Buckets are `resolution_s` long from `start`, or
    begin at `edges` (sorted, the first at `start`) when given."""
    rows = hourly.select(as_datetime64(start), as_datetime64(end))
    names = tuple(
        sorted(
            operations
            if operations is not None
            else set(rows.operations[c] for c in np.unique(rows.op))
        )
    )
    rows = rows.recode(names)
    if edges:
        buckets = np.array([as_datetime64(e) for e in edges], dtype="datetime64[s]")
        slots = len(buckets)
        slot = np.searchsorted(buckets, rows.bucket, side="right").astype(np.int64) - 1
    else:
        slots = max(int(np.ceil((end - start).total_seconds() / resolution_s)), 1)
        slot = (rows.bucket - as_datetime64(start)).astype(np.int64) // resolution_s
        buckets = as_datetime64(start) + np.arange(slots) * np.timedelta64(resolution_s, "s")
    k = len(names)
    per_slot = Summary.of(rows, rows.op * slots + slot, k * slots)
    q = per_slot.quantiles([0.5, 0.95, 0.99]).reshape(k, slots, 3)
    whole = Summary.of(rows).quantiles([0.99])[:, 0] if k else np.zeros(0)
    slope = least_squares_slope(q[:, :, 2]) * (DAY_S / resolution_s)
    counts = per_slot.n.reshape(k, slots)
    known = baselines or {}
    result = []
    for code, name in enumerate(names):
        baseline = known.get(name)
        p99 = float(whole[code])
        change = None
        if baseline is not None and baseline.p99_ms > 0 and np.isfinite(p99):
            change = 100.0 * (p99 - baseline.p99_ms) / baseline.p99_ms
        result.append(
            Trend(
                operation=name,
                resolution_s=resolution_s,
                buckets=buckets,
                count=counts[code],
                p50_ms=q[code, :, 0],
                p95_ms=q[code, :, 1],
                p99_ms=q[code, :, 2],
                window_p99_ms=p99,
                slope_ms_per_day=_slope(float(slope[code]), counts[code], resolution_s),
                baseline_p99_ms=baseline.p99_ms if baseline else None,
                change_pct=change,
            )
        )
    return result


def _slope(slope: float, count: IntArray, resolution_s: int) -> float | None:
    """`slope` when the buckets from the first to the last with data cover two days or more."""
    filled = np.flatnonzero(count > 0)
    if not np.isfinite(slope) or len(filled) < 2:
        return None
    covered = (int(filled[-1]) - int(filled[0]) + 1) * resolution_s
    return slope if covered >= MIN_SLOPE_SPAN_S else None
