"""The latency series of alert messages: per-minute p50/p95/p99 from rollups."""

from datetime import UTC, datetime

import numpy as np
import pytest

from bot.analysis.rollups import Rollups
from bot.series import series_of

T0 = np.datetime64("2026-11-27T10:00:00")


def test_series_of_gives_ordered_quantiles_per_minute() -> None:
    rng = np.random.default_rng(3)
    minutes = np.repeat(np.arange(5), 200)
    stamps = T0 + (minutes * 60 + rng.uniform(0, 59, len(minutes))).astype("timedelta64[s]")
    values = rng.lognormal(np.log(10.0), 0.3, len(minutes)) * np.where(minutes == 4, 5.0, 1.0)
    rollups = Rollups.from_values(["commit"], np.zeros(len(values), np.int64), stamps, values, 60)
    series = series_of(rollups, "commit")
    assert series is not None
    assert series.timestamps[0] == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert len(series.p99_ms) == 5
    for p50, p95, p99 in zip(series.p50_ms, series.p95_ms, series.p99_ms, strict=True):
        assert p50 <= p95 <= p99
    assert series.p50_ms[0] == pytest.approx(10.0, rel=0.1)
    assert series.p50_ms[4] == pytest.approx(50.0, rel=0.1)


def test_no_rollups_no_series() -> None:
    assert series_of(Rollups.empty(("commit",)), "commit") is None
