"""The robust detector: window medians and tails in log space, effect-size floors, minimum
samples, one-sidedness and hour-of-day seasonality."""

from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.detection import detect, prepare
from bot.analysis.params import DegradationParams, DetectionParams
from bot.analysis.robust import binomial_z
from bot.analysis.rollups import Rollups
from bot.analysis.seasonality import hour_of_day_offsets
from bot.models import Anomaly, AnomalyKind, Severity
from tests.unit.analysis.factories import NOW, lognormal, per_minute, rollups, stamps

MEDIAN, SIGMA = 5.0, 0.5
ROBUST = DetectionParams(detector="robust")
# Deterministic standard-normal quantiles, so a window's median is exactly what a case says.
GRID = np.quantile(
    np.random.default_rng(0).standard_normal(400_000), np.linspace(0.005, 0.995, 200)
)


def _window(n: int, factor: float, slow_share: float = 1.0) -> np.ndarray:
    """n durations on the reference's shape; the slowest `slow_share` of them x factor."""
    z = np.quantile(GRID, (np.arange(n) + 0.5) / n)
    values = MEDIAN * np.exp(SIGMA * z)
    slow = np.arange(n) >= n - round(slow_share * n)
    return np.where(slow, values * factor, values)


def _reference(per_min: int = 10, seed: int = 1) -> Rollups:
    """24 h of log-normal traffic before the new minute."""
    times = per_minute(NOW - timedelta(minutes=1441), 1440, np.zeros(per_min))[0]
    return rollups({"commit": (times, lognormal(seed, len(times), MEDIAN, SIGMA))})


def _run(
    values: np.ndarray, params: DetectionParams = ROBUST, reference: Rollups | None = None
) -> list[Anomaly]:
    new = rollups({"commit": per_minute(NOW - timedelta(minutes=1), 1, values)})
    reference = _reference() if reference is None else reference
    return detect(new, reference, Rollups.empty(), {}, params, NOW)


@pytest.mark.parametrize(
    ("n", "factor", "severity"),
    [
        (10, 1.0, None),  # normal traffic
        (10, 2.0, None),  # z = 3.4 from ten requests: not yet evidence
        (10, 3.0, Severity.WARNING),  # z = 5.4, median x2.9: below 7 standard errors
        (10, 6.0, Severity.CRITICAL),  # z = 8.9 and median x5.8
        (50, 2.0, Severity.CRITICAL),  # z = 7.9 and median doubled
        (50, 1.5, None),  # z = 4.7: under the WARNING bar of 5
        (2000, 1.2, None),  # z = 13, but +20 % is below the +30 % effect-size floor
        (10, 0.2, None),  # much faster: not an incident (one-sided)
    ],
)
def test_median_shift(n, factor, severity):
    found = _run(_window(n, factor))
    assert [a.severity for a in found] == ([] if severity is None else [severity])
    if found:
        assert found[0].kind is AnomalyKind.STATISTICAL
        assert found[0].detector == "robust"
        assert found[0].details["statistical"]["expected_median_ms"] == pytest.approx(
            MEDIAN, rel=0.05
        )


def test_partial_slowdown_is_caught_by_the_tail_test():
    # 20 requests a minute as usual (against 10 a minute they would be a traffic surge)
    found = _run(_window(20, 10.0, slow_share=0.3), reference=_reference(per_min=20))
    assert [a.severity for a in found] == [Severity.WARNING]
    facts = found[0].details["statistical"]
    assert facts["z_tail"] >= 5.0 > facts["z_location"]
    assert found[0].outliers == 6


@pytest.mark.parametrize(
    ("n", "least", "fires"),
    [(4, 5, False), (5, 5, True), (9, 10, False), (10, 10, True), (4, 1, False)],
)
def test_min_samples_per_window(n, least, fires):
    # The regular windows need max(min_samples, robust_min_samples) requests.
    params = DetectionParams(detector="robust", windows_min=(1,), robust_min_samples=least)
    assert bool(_run(np.full(n, MEDIAN * 10), params)) is fires


@pytest.mark.parametrize(
    ("n", "factor", "severity"),
    [
        (80, 1.6, None),  # 8x the usual 10 a minute: a slowdown under load, below x2
        (80, 2.5, Severity.CRITICAL),  # under load too, but the median is x2.5
        (15, 2.5, Severity.WARNING),  # 1.5x the traffic is no surge
    ],
)
def test_a_traffic_surge_needs_a_doubled_median(n, factor, severity):
    found = _run(_window(n, factor))
    assert [a.severity for a in found] == ([] if severity is None else [severity])
    # With the surge's bar at the ordinary effect floor every case fires: the surge rule,
    # not the evidence, is what held the first back.
    relaxed = _run(_window(n, factor), DetectionParams(detector="robust", surge_min_ratio=1.3))
    assert relaxed
    assert relaxed[0].details["statistical"]["load_surge"] == (1.0 if n > 20 else 0.0)


@pytest.mark.parametrize(("per_min", "fires"), [(1, True), (0, False)])
def test_min_reference(per_min, fires):
    # 1440 reference samples suffice; none at all (below min_reference) never fires.
    reference = _reference(per_min) if per_min else Rollups.empty(("commit",))
    assert bool(_run(np.full(10, MEDIAN * 10), reference=reference)) is fires


def test_slow_minutes_add_up_over_the_longer_windows():
    """x1.8 for 15 minutes at 10/min: one minute is no evidence (z = 3), fifteen are (z = 11)."""
    normal = per_minute(NOW - timedelta(minutes=1441), 1426, np.zeros(10))[0]
    slow = per_minute(NOW - timedelta(minutes=15), 14, np.zeros(10))[0]
    reference = rollups(
        {
            "commit": (
                np.concatenate([normal, slow]),
                np.concatenate(
                    [
                        lognormal(4, len(normal), MEDIAN, SIGMA),
                        lognormal(5, len(slow), MEDIAN * 1.8, SIGMA),
                    ]
                ),
            )
        }
    )
    single = DetectionParams(detector="robust", windows_min=(1,), pool_windows_min=())
    assert _run(_window(10, 1.8), single, reference) == []
    (found,) = _run(_window(10, 1.8), ROBUST, reference)
    assert found.severity is Severity.WARNING  # strong evidence, but the median is not doubled
    assert found.details["statistical"]["window_s"] == 900
    assert found.window_start == NOW - timedelta(minutes=15)


def _seasonal_history(
    days: int = 7, per_min: int = 10, slow_hour: int = 11, factor: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    times = per_minute(NOW - timedelta(days=days), days * 1440, np.zeros(per_min))[0]
    values = lognormal(2, len(times), MEDIAN, SIGMA)
    hour = (times.astype("datetime64[h]").astype(np.int64)) % 24
    return times, np.where(hour == slow_hour, values * factor, values)


@pytest.mark.parametrize(("seasonality", "fires"), [(False, True), (True, False)])
def test_hour_of_day_seasonality(seasonality, fires):
    """Every day 11:00-12:00 UTC is twice as slow; at 11:59 that is normal, if one knows it."""
    times, values = _seasonal_history()
    history = rollups({"commit": (times, values)}, 3600)
    minutes = rollups({"commit": (times, values)})
    end = np.datetime64(int(NOW.timestamp()), "s")
    new = minutes.select(end - np.timedelta64(60, "s"), end)
    reference = minutes.select(end - np.timedelta64(1, "D"), end - np.timedelta64(60, "s"))
    params = DetectionParams(detector="robust", seasonality=seasonality, windows_min=(1, 5))
    found = detect(new, reference, history, {}, params, NOW, DegradationParams(min_samples=10**9))
    assert bool(found) is fires


def test_offsets_are_learnt_per_hour_and_robust_to_one_bad_day():
    times, values = _seasonal_history()
    bad_day = (times >= np.datetime64("2026-03-01T15:00")) & (
        times < np.datetime64("2026-03-01T16:00")
    )
    values = np.where(bad_day, values * 10, values)
    offsets = hour_of_day_offsets(rollups({"commit": (times, values)}, 3600), ("commit",))
    assert offsets[0, 11] - offsets[0, 3] == pytest.approx(np.log(2.0), abs=0.01)
    assert offsets[0, 15] == pytest.approx(offsets[0, 3], abs=0.01)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [
        (0, 10, 0.005, -0.317),
        (1, 100, 0.01, 0.0),
        (4, 10, 0.005, 4.92),
        (5, 20, 0.01, 4.52),
        (0, 0, 0.01, 0.0),
    ],
)
def test_binomial_z(k, n, p, expected):
    got = binomial_z(np.array([k]), np.array([n]), np.array([p]))[0]
    assert got == pytest.approx(expected, abs=0.01)


def test_context_offsets_are_zero_for_the_zscore_detector():
    times, values = _seasonal_history(days=2)
    history = rollups({"commit": (times, values)}, 3600)
    context = prepare(history, NOW, DetectionParams(detector="zscore"), DegradationParams())
    assert not context.offsets.any()


def test_stamps_helper_is_millisecond_exact():
    assert stamps(NOW, [0.001])[0] - stamps(NOW, [0])[0] == np.timedelta64(1, "ms")


@pytest.mark.parametrize(("gap_min", "severity"), [(0, None), (60, Severity.WARNING)])
def test_no_surge_without_a_usual_rate_before_the_window(gap_min, severity):
    # 80 requests x1.6 in the new minute. With the last hour of reference at 10 a minute it is
    # a surge (held back below a doubled median); with no row in the hour before, the rate
    # is unknown (a new operation, a catch-up) and it is judged like any window.
    start = NOW - timedelta(minutes=1441)
    times = per_minute(start, 1440 - gap_min, np.zeros(10))[0]
    reference = rollups({"commit": (times, lognormal(1, len(times), MEDIAN, SIGMA))})
    found = _run(_window(80, 1.6), reference=reference)
    assert [a.severity for a in found] == ([] if severity is None else [severity])
