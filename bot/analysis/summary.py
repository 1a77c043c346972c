"""Summary: rollup rows merged per key (usually per operation) into one set of statistics.

Detectors compare summaries: the new window's against the reference's. A summary holds, per key,
the count, mean and M2 of durations in ms and ln(ms), the exact extremes and, when the rollups
carried them, a dense log-bucket histogram for quantiles. Summaries add (Chan's formula for the
moments, counts for the histograms), so a detector can assemble several windows from a few
slices of the reference without reading rows twice."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.analysis.histogram import N_BUCKETS, FloatArray, IntArray, quantiles
from bot.analysis.rollups import Rollups, merge_rows


@dataclass(frozen=True, eq=False)
class Summary:
    """Statistics per key (index = key). Durations in ms; `*_log` in ln(ms); `hist` is
    (keys x N_BUCKETS) or None when the rollups had no histograms. Keys without samples have
    n = 0, NaN means and infinite extremes."""

    n: IntArray
    mean_ms: FloatArray
    m2_ms: FloatArray
    mean_log: FloatArray
    m2_log: FloatArray
    min_ms: FloatArray
    max_ms: FloatArray
    hist: IntArray | None

    @classmethod
    def of(
        cls,
        rollups: Rollups,
        key: IntArray | None = None,
        size: int | None = None,
        *,
        histograms: bool = True,
    ) -> "Summary":
        """Merge `rollups` rows by `key` (default: the op code; `size` keys, default one per
        operation). With `histograms=False` the dense histograms are skipped (cheaper)."""
        keys = rollups.op if key is None else key
        k = len(rollups.operations) if size is None else size
        n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms = merge_rows(rollups, keys, k)
        hist: IntArray | None = None
        if histograms and rollups.has_histograms:
            cell = keys[rollups.hist_row] * N_BUCKETS + rollups.hist_idx
            dense = np.bincount(cell, weights=rollups.hist_cnt, minlength=k * N_BUCKETS)
            hist = np.rint(dense).astype(np.int64).reshape(k, N_BUCKETS)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_ms = np.where(n > 0, sum_ms / n, np.nan)
            mean_log = np.where(n > 0, sum_log / n, np.nan)
        return cls(n, mean_ms, m2_ms, mean_log, m2_log, min_ms, max_ms, hist)

    def __add__(self, other: "Summary") -> "Summary":
        """The summary of both sets of samples (same keys)."""
        n = self.n + other.n
        parts = np.stack([self.n, other.n]).astype(np.float64)
        stats = []
        for mine, theirs, m2_mine, m2_theirs in (
            (self.mean_ms, other.mean_ms, self.m2_ms, other.m2_ms),
            (self.mean_log, other.mean_log, self.m2_log, other.m2_log),
        ):
            means = np.nan_to_num(np.stack([mine, theirs]))
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(n > 0, (parts * means).sum(axis=0) / n, np.nan)
            spread = (parts * (means - np.nan_to_num(mean)) ** 2).sum(axis=0)
            stats.append((mean, m2_mine + m2_theirs + spread))
        hist = None if self.hist is None or other.hist is None else self.hist + other.hist
        return Summary(
            n,
            stats[0][0],
            stats[0][1],
            stats[1][0],
            stats[1][1],
            np.minimum(self.min_ms, other.min_ms),
            np.maximum(self.max_ms, other.max_ms),
            hist,
        )

    def placed(self, keys: IntArray, size: int) -> "Summary":
        """This summary's key i as key `keys[i]` of a summary of `size` keys (the others
        without samples): summaries of different key sets, placed alike, add."""
        n = np.zeros(size, dtype=np.int64)
        n[keys] = self.n
        columns = []
        for column, fill in (
            (self.mean_ms, np.nan),
            (self.m2_ms, 0.0),
            (self.mean_log, np.nan),
            (self.m2_log, 0.0),
            (self.min_ms, np.inf),
            (self.max_ms, -np.inf),
        ):
            out = np.full(size, fill)
            out[keys] = column
            columns.append(out)
        hist = None
        if self.hist is not None:
            hist = np.zeros((size, self.hist.shape[1]), dtype=self.hist.dtype)
            hist[keys] = self.hist
        mean_ms, m2_ms, mean_log, m2_log, min_ms, max_ms = columns
        return Summary(n, mean_ms, m2_ms, mean_log, m2_log, min_ms, max_ms, hist)

    @property
    def std_ms(self) -> FloatArray:
        """Population standard deviation (ms); NaN without samples."""
        return _population_std(self.m2_ms, self.n)

    @property
    def std_log(self) -> FloatArray:
        """Population standard deviation of ln(ms); NaN without samples."""
        return _population_std(self.m2_log, self.n)

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray:
        """Quantiles (ms) per key from the histograms: (keys x len(qs)); NaN without samples."""
        if self.hist is None:
            raise ValueError("these rollups were loaded without histograms")
        return quantiles(self.hist, np.asarray(qs, dtype=np.float64), self.min_ms, self.max_ms)


def _population_std(m2: FloatArray, n: IntArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(n > 0, np.sqrt(np.maximum(m2, 0.0) / n), np.nan)
    return result
