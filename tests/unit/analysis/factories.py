"""Builders for analysis tests: samples, rollups and baselines with as few arguments as a test
needs."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.analysis.rollups import Rollups
from bot.analysis.summary import Summary
from bot.models import Baseline

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday noon, on a minute boundary


def stamps(start: datetime, seconds: Sequence[float] | np.ndarray) -> np.ndarray:
    """datetime64[ms] timestamps at `seconds` after `start`."""
    base = np.datetime64(int(start.timestamp() * 1000), "ms")
    return base + (np.asarray(seconds, dtype=np.float64) * 1000).astype("timedelta64[ms]")


def per_minute(
    start: datetime, minutes: int, values_per_minute: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The same values in every minute of [start, start + minutes), spread across the minute.
    Returns (timestamps, values)."""
    values = np.asarray(values_per_minute, dtype=np.float64)
    k = len(values)
    offsets = (np.arange(minutes)[:, None] * 60 + (np.arange(k) + 0.5) * 60 / k).ravel()
    return stamps(start, offsets), np.tile(values, minutes)


def rollups(
    parts: dict[str, tuple[np.ndarray, np.ndarray]],
    resolution_s: int = 60,
    operations: Sequence[str] | None = None,
) -> Rollups:
    """Rollups of {operation: (timestamps, values ms)}."""
    names = tuple(operations or sorted(parts))
    codes = np.concatenate([np.full(len(parts[n][0]), names.index(n)) for n in parts])
    times = np.concatenate([parts[n][0] for n in parts])
    values = np.concatenate([parts[n][1] for n in parts])
    return Rollups.from_values(names, codes, times, values, resolution_s)


def lognormal(seed: int, n: int, median_ms: float, sigma: float) -> np.ndarray:
    """n log-normal durations (ms) with the given median and ln-space spread."""
    rng = np.random.default_rng(seed)
    return median_ms * np.exp(sigma * rng.standard_normal(n))


def baseline(
    operation: str = "commit",
    *,
    p99_ms: float = 10.0,
    mean_ms: float = 5.0,
    multiplier: float = 2.5,
    sample_count: int = 1000,
) -> Baseline:
    """A baseline with the given p99, other quantiles below it."""
    return Baseline(
        operation_type=operation,
        sample_count=sample_count,
        mean_ms=mean_ms,
        stddev_ms=1.0,
        min_ms=0.1,
        max_ms=p99_ms * 2,
        p50_ms=p99_ms * 0.5,
        p75_ms=p99_ms * 0.6,
        p90_ms=p99_ms * 0.7,
        p95_ms=p99_ms * 0.8,
        p99_ms=p99_ms,
        multiplier=multiplier,
        window_start=NOW - timedelta(days=7),
        window_end=NOW,
        computed_at=NOW,
    )


def dense(stats: Summary) -> np.ndarray:
    """The summary's histograms, which these tests always load."""
    assert stats.hist is not None
    return stats.hist
