"""Correlated slowdowns: which degraded operations' per-minute mean latencies move together.

By matrix products (no loop over pairs): with M the 0/1 presence matrix (operations x minutes)
and X the centred means (0 where absent), the pairwise-complete sums are N = M M', Sx = X M',
Sxx = X^2 M' and Sxy = X X', from which Pearson r with population sigma follows for every pair
over exactly the minutes both operations have data. A pair counts with at least `min_buckets`
shared minutes and r >= threshold (CRITICAL at r >= critical); confidence = min(1, n / 100).
Only pairs of operations that are BOTH in the `degraded` set are reported: healthy operations
that merely share the daily traffic cycle are not a bottleneck (the original never checked).

At 10,000 degraded operations the full matrices would take gigabytes, so the products run in
blocks of rows against the operations after them (memory bounded by BLOCK_CELLS per matrix), and
only the `max_pairs` strongest pairs are kept; `Correlated.matched` says how many there were."""

from collections.abc import Collection
from dataclasses import dataclass
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


BLOCK_CELLS = 2_000_000  # pairs per block of matrix products (~16 MB per float matrix)


def _centred(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rows centred on their own mean (0 where missing), and the 0/1 presence mask."""
    present = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.nansum(values, axis=1) / np.maximum(present.sum(axis=1), 1)
    # Centring each row first keeps the one-pass sums free of catastrophic cancellation.
    return np.where(present, values - centre[:, None], 0.0), present.astype(np.float64)


def _block(
    xa: FloatArray, ma: FloatArray, xb: FloatArray, mb: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Pairwise-complete r (rows of a x rows of b, NaN where a pair shares no variance) and the
    shared-column counts."""
    n = ma @ mb.T
    with np.errstate(invalid="ignore", divide="ignore"):
        sxa, sxb = (xa @ mb.T) / n, (ma @ xb.T) / n  # each one's mean over the shared minutes
        sxxa, sxxb = ((xa * xa) @ mb.T) / n, (ma @ (xb * xb).T) / n
        var_a, var_b = sxxa - sxa**2, sxxb - sxb**2
        r = ((xa @ xb.T) / n - sxa * sxb) / np.sqrt(var_a * var_b)
        # A series constant over the shared minutes leaves only rounding noise as "variance".
        ok = (n > 0) & (var_a > 1e-9 * sxxa) & (var_b > 1e-9 * sxxb)
    # Rounded so that an r of exactly 0.9 is not 0.8999999999999999 at the CRITICAL bar.
    result: FloatArray = np.where(ok, np.clip(np.round(r, 12), -1.0, 1.0), np.nan)
    return result, n


def pearson(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Pairwise-complete Pearson r (rows x rows, to 12 decimals) and the shared-column counts,
    for rows of `values` with NaN for missing. r is NaN where a pair shares no variance."""
    x, mask = _centred(values)
    r, n = _block(x, mask, x, mask)
    return r, np.rint(n).astype(np.int64)


def strongest_pairs(
    values: FloatArray, min_n: int, threshold: float, limit: int
) -> tuple[IntArray, IntArray, FloatArray, IntArray, int]:
    """The pairs a < b of rows with at least `min_n` shared columns and r >= threshold, the
    `limit` strongest (r descending, then a, then b): (a, b, r, n, how many matched in all).
    Blocks of rows against the rows after them: memory bounded, each pair computed once."""
    x, mask = _centred(values)
    k = len(values)
    rows = max(1, BLOCK_CELLS // max(k, 1))
    keep_a, keep_b = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keep_r, keep_n = np.zeros(0), np.zeros(0, dtype=np.int64)
    matched = 0
    for lo in range(0, k, rows):
        hi = min(lo + rows, k)
        r, n = _block(x[lo:hi], mask[lo:hi], x[lo:], mask[lo:])
        a, b = np.nonzero(
            (np.arange(lo, k)[None, :] > np.arange(lo, hi)[:, None])
            & (n >= min_n)
            & (np.nan_to_num(r, nan=-2.0) >= threshold)
        )
        matched += len(a)
        keep_a = np.concatenate([keep_a, a + lo])
        keep_b = np.concatenate([keep_b, b + lo])
        keep_r = np.concatenate([keep_r, r[a, b]])
        keep_n = np.concatenate([keep_n, np.rint(n[a, b]).astype(np.int64)])
        order = np.lexsort((keep_b, keep_a, -keep_r))[:limit]
        keep_a, keep_b, keep_r, keep_n = keep_a[order], keep_b[order], keep_r[order], keep_n[order]
    return keep_a, keep_b, keep_r, keep_n, matched


@dataclass(frozen=True)
class Correlated:
    """The reported pairs (strongest first) and how many pairs matched in all: more than
    reported when `max_pairs` bit."""

    pairs: list[Correlation]
    matched: int

    @property
    def capped(self) -> bool:
        return self.matched > len(self.pairs)


def correlate(
    minutes: Rollups,
    degraded: Collection[str],
    params: CorrelationParams,
    now: datetime,
) -> list[Correlation]:
    """Correlated pairs among the `degraded` operations over [now - lookback, now), from
    minute rollups: at most `params.max_pairs`, operation_a < operation_b, strongest first."""
    return correlate_all(minutes, degraded, params, now).pairs


def correlate_all(
    minutes: Rollups,
    degraded: Collection[str],
    params: CorrelationParams,
    now: datetime,
) -> Correlated:
    """`correlate`, with how many pairs matched before the `max_pairs` cap."""
    operations = tuple(sorted(set(degraded)))
    if len(operations) < 2:
        return Correlated([], 0)
    start = now - params.lookback
    a_idx, b_idx, rs, ns, matched = strongest_pairs(
        minute_means(minutes, operations, start, now),
        params.min_buckets,
        params.threshold,
        params.max_pairs,
    )
    found = []
    for a, b, value, n in zip(
        a_idx.tolist(), b_idx.tolist(), rs.tolist(), ns.tolist(), strict=True
    ):
        op_a, op_b = operations[a], operations[b]
        kind = classify(op_a, op_b)
        found.append(
            Correlation(
                operation_a=op_a,
                operation_b=op_b,
                r=value,
                n=n,
                confidence=min(1.0, n / 100.0),
                bottleneck=kind,
                severity=Severity.CRITICAL if value >= params.critical else Severity.WARNING,
                recommendations=RECOMMENDATIONS[kind],
                window_start=start,
                window_end=now,
                analyzed_at=now,
            )
        )
    return Correlated(sorted(found, key=lambda c: (-c.r, c.operation_a, c.operation_b)), matched)
