"""Log-bucket latency histograms: the mergeable summary behind every quantile perfbot reports.

A duration d (ms) falls in bucket `floor(ln(max(d, MIN_MS) / MIN_MS) * SCALE)`, clamped to
[0, N_BUCKETS - 1]: 16 buckets per doubling, so a bucket spans 4.4 % and a quantile read from it
(log-linear interpolation inside the bucket) is within about ±2.2 % of the exact one. The same
formula runs in SQL when rollups are built (the store binds MIN_MS and SCALE as parameters), so
histograms from PostgreSQL and from numpy agree bucket for bucket."""

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_MS = 0.001
BUCKETS_PER_DOUBLING = 16
SCALE = BUCKETS_PER_DOUBLING / math.log(2.0)
N_BUCKETS = BUCKETS_PER_DOUBLING * 36  # up to 0.001 ms × 2^36 ≈ 19 hours


def bucket_index(values_ms: FloatArray) -> IntArray:
    """The bucket of each duration (ms)."""
    clipped = np.maximum(np.asarray(values_ms, dtype=np.float64), MIN_MS)
    idx = np.floor(np.log(clipped / MIN_MS) * SCALE).astype(np.int64)
    result: IntArray = np.clip(idx, 0, N_BUCKETS - 1)
    return result


def bucket_lower_ms(idx: IntArray | int) -> FloatArray:
    """The lower edge (ms) of each bucket index."""
    result: FloatArray = MIN_MS * np.exp(np.asarray(idx, dtype=np.float64) / SCALE)
    return result


def histogram(values_ms: FloatArray) -> IntArray:
    """A dense histogram (length N_BUCKETS) of durations in ms."""
    result: IntArray = np.bincount(bucket_index(values_ms), minlength=N_BUCKETS).astype(np.int64)
    return result


def from_sparse(idx: list[int] | IntArray, counts: list[int] | IntArray) -> IntArray:
    """A dense histogram from the sparse (index, count) arrays stored in rollups."""
    dense: IntArray = np.bincount(
        np.asarray(idx, dtype=np.int64),
        weights=np.asarray(counts, dtype=np.float64),
        minlength=N_BUCKETS,
    ).astype(np.int64)
    return dense
