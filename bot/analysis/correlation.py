"""Correlated slowdowns: which degraded operations' per-minute mean latencies move together.

All operations at once, by matrix products (no loop over pairs): with M the 0/1 presence matrix
(operations x minutes) and X the centred means (0 where absent), the pairwise-complete sums are
N = M M', Sx = X M', Sxx = X^2 M' and Sxy = X X', from which Pearson r with population sigma
follows for every pair over exactly the minutes both operations have data. A pair counts with
at least `min_buckets` shared minutes and r >= threshold (CRITICAL at r >= critical);
confidence = min(1, n / 100). Only pairs of operations that are BOTH in the `degraded` set are
reported: healthy operations that merely share the daily traffic cycle are not a bottleneck (the
original never checked)."""

from collections.abc import Collection
from datetime import datetime

import numpy as np

from bot.analysis.bottleneck import RECOMMENDATIONS, classify
from bot.analysis.histogram import FloatArray, IntArray
from bot.analysis.params import CorrelationParams
from bot.analysis.rollups import Rollups, as_datetime64
from bot.models import Correlation, Severity


def minute_means(
    minutes: Rollups, operations: tuple[str, ...], start: datetime, end: datetime
) -> FloatArray:
    """Mean duration (ms) per operation (rows, in `operations` order) and minute in
    [start, end) (columns); NaN where an operation has no data in a minute."""
    rows = minutes.recode(operations).select(as_datetime64(start), as_datetime64(end))
    width = max(int((end - start).total_seconds() // 60), 0)
    col = (rows.bucket - as_datetime64(start)).astype(np.int64) // 60
    cell = rows.op * width + col
    size = len(operations) * width
    total = np.bincount(cell, weights=rows.sum_ms, minlength=size)
    count = np.bincount(cell, weights=rows.n, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        means: FloatArray = np.where(count > 0, total / count, np.nan).reshape(-1, width)
    return means


def pearson(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Pairwise-complete Pearson r (rows x rows, to 12 decimals) and the shared-column counts,
    for rows of `values` with NaN for missing. r is NaN where a pair shares no variance."""
    present = np.isfinite(values)
    mask = present.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.nansum(values, axis=1) / np.maximum(present.sum(axis=1), 1)
    # Centring each row first keeps the one-pass sums free of catastrophic cancellation.
    x = np.where(present, values - centre[:, None], 0.0)
    n = mask @ mask.T
    sx = x @ mask.T  # [a, b]: sum of a's values over the minutes b also has
    sxx = (x * x) @ mask.T
    sxy = x @ x.T
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = sx / n
        mean_b = sx.T / n
        cov = sxy / n - mean_a * mean_b
        var_a = sxx / n - mean_a**2
        var_b = sxx.T / n - mean_b**2
        r = cov / np.sqrt(var_a * var_b)
        # A series constant over the shared minutes leaves only rounding noise as "variance".
        flat_a = ~(var_a > 1e-9 * (sxx / n))
    ok = (n > 0) & ~flat_a & ~flat_a.T
    # Rounded so that an r of exactly 0.9 is not 0.8999999999999999 at the CRITICAL bar.
    result: FloatArray = np.where(ok, np.clip(np.round(r, 12), -1.0, 1.0), np.nan)
    return result, np.rint(n).astype(np.int64)


def correlate(
    minutes: Rollups,
    degraded: Collection[str],
    params: CorrelationParams,
    now: datetime,
) -> list[Correlation]:
    """Correlated pairs among the `degraded` operations over [now - lookback, now), from
    minute rollups. Returns Correlation values with operation_a < operation_b, strongest
    first."""
    operations = tuple(sorted(set(degraded)))
    if len(operations) < 2:
        return []
    start = now - params.lookback
    r, n = pearson(minute_means(minutes, operations, start, now))
    upper = np.triu(np.ones_like(n, dtype=bool), k=1)
    keep = upper & (n >= params.min_buckets) & (np.nan_to_num(r, nan=-2.0) >= params.threshold)
    found = []
    for a, b in zip(*np.nonzero(keep), strict=True):
        op_a, op_b = operations[a], operations[b]
        kind = classify(op_a, op_b)
        value = float(r[a, b])
        found.append(
            Correlation(
                operation_a=op_a,
                operation_b=op_b,
                r=value,
                n=int(n[a, b]),
                confidence=min(1.0, int(n[a, b]) / 100.0),
                bottleneck=kind,
                severity=Severity.CRITICAL if value >= params.critical else Severity.WARNING,
                recommendations=RECOMMENDATIONS[kind],
                window_start=start,
                window_end=now,
                analyzed_at=now,
            )
        )
    return sorted(found, key=lambda c: (-c.r, c.operation_a, c.operation_b))
