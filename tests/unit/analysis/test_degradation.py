from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.degradation import assess_degradation, least_squares_slope, trend_of
from bot.analysis.params import DegradationParams
from bot.analysis.rollups import Rollups
from bot.models import Severity
from tests.unit.analysis.factories import NOW, rollups, stamps

PARAMS = DegradationParams()
HALF_S = 3.5 * 86400


def _halves(before_ms: float, after_ms: float, per_half: int = 500) -> Rollups:
    """Constant durations per half, so each half's p99 is exact."""
    start = NOW - timedelta(days=7)
    seconds = np.concatenate(
        [np.linspace(0, HALF_S - 1, per_half), np.linspace(HALF_S, 2 * HALF_S - 1, per_half)]
    )
    values = np.concatenate([np.full(per_half, before_ms), np.full(per_half, after_ms)])
    return rollups({"commit": (stamps(start, seconds), values)}, 3600)


@pytest.mark.parametrize(
    ("after_ms", "severity"),
    [
        (11.99, None),
        (12.0, Severity.INFO),
        (12.99, Severity.INFO),
        (13.0, Severity.WARNING),
        (14.99, Severity.WARNING),
        (15.0, Severity.CRITICAL),
        (30.0, Severity.CRITICAL),
        (6.0, None),  # a 40 % improvement is never reported
    ],
)
def test_degradation_thresholds(after_ms, severity):
    found = assess_degradation(_halves(10.0, after_ms), PARAMS, NOW)
    assert (found["commit"].severity if found else None) == severity
    if found:
        assert found["commit"].degradation_pct == pytest.approx(10.0 * (after_ms - 10.0))
        assert (found["commit"].p99_before_ms, found["commit"].p99_after_ms) == (10.0, after_ms)


@pytest.mark.parametrize(("per_half", "reported"), [(49, False), (50, True)])
def test_each_half_needs_min_samples(per_half, reported):
    assert bool(assess_degradation(_halves(10.0, 20.0, per_half), PARAMS, NOW)) is reported


@pytest.mark.parametrize(("per_half", "confidence"), [(70, 0.4), (175, 1.0), (1000, 1.0)])
def test_confidence_is_samples_per_day_over_fifty(per_half, confidence):
    found = assess_degradation(_halves(10.0, 20.0, per_half), PARAMS, NOW)["commit"]
    assert found.confidence == pytest.approx(confidence)


def test_trend_slope_of_daily_p99():
    start = NOW - timedelta(days=7)
    seconds = np.arange(7 * 24) * 3600 + 60.0
    values = 10.0 + 2.0 * np.floor(seconds / 86400) + (np.arange(len(seconds)) % 2) * 1e-3
    hourly = rollups({"commit": (stamps(start, np.repeat(seconds, 5)), np.repeat(values, 5))}, 3600)
    found = assess_degradation(hourly, DegradationParams(min_samples=10), NOW)["commit"]
    assert found.trend_slope_ms_per_day == pytest.approx(2.0, rel=0.01)
    assert found.trend == "DEGRADING"


@pytest.mark.parametrize(
    ("slope", "trend"), [(1.5, "DEGRADING"), (-0.1, "IMPROVING"), (0.0, "STABLE"), (None, "STABLE")]
)
def test_trend_names(slope, trend):
    assert trend_of(slope) == trend


@pytest.mark.parametrize(
    ("row", "slope"),
    [([1.0, 2.0, 3.0], 1.0), ([3.0, np.nan, 1.0], -1.0), ([5.0, np.nan, np.nan], np.nan)],
)
def test_least_squares_slope_skips_missing_points(row, slope):
    got = least_squares_slope(np.array([row]))[0]
    assert got == pytest.approx(slope, nan_ok=True)


def test_no_rows_no_degradation():
    assert assess_degradation(Rollups.empty(("commit",), 3600), PARAMS, NOW) == {}
