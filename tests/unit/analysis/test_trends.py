from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.trends import trends
from tests.unit.analysis.factories import NOW, baseline, rollups, stamps

START = NOW - timedelta(days=3)


def _hourly(level_per_day: tuple[float, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    hours = len(level_per_day) * 24
    seconds = np.repeat(np.arange(hours) * 3600 + 30.0, 10)
    values = np.repeat(np.repeat(level_per_day, 24), 10)
    return {"commit": (stamps(START, seconds), values)}


@pytest.mark.parametrize(
    ("levels", "slope"),
    [((10.0, 12.0, 14.0), 2.0), ((10.0, 10.0, 10.0), 0.0), ((14.0, 12.0, 10.0), -2.0)],
)
def test_daily_trend_slope_in_ms_per_day(levels, slope):
    (trend,) = trends(rollups(_hourly(levels), 3600), START, NOW, resolution_s=86400)
    assert trend.p99_ms.tolist() == list(levels)
    assert trend.count.tolist() == [240, 240, 240]
    assert trend.slope_ms_per_day == pytest.approx(slope)


def test_hourly_buckets_and_their_quantiles():
    (trend,) = trends(rollups(_hourly((10.0, 20.0, 30.0)), 3600), START, NOW)
    assert len(trend.buckets) == 72
    assert trend.buckets[0] == np.datetime64(int(START.timestamp()), "s")
    assert (trend.p50_ms[0], trend.p95_ms[30], trend.p99_ms[71]) == (10.0, 20.0, 30.0)


def test_hourly_slope_is_scaled_to_ms_per_day():
    seconds = np.arange(72) * 3600 + 30.0
    ramp = {"commit": (stamps(START, seconds), 10.0 + seconds // 3600 * 0.25)}  # +6 ms a day
    (trend,) = trends(rollups(ramp, 3600), START, NOW)
    assert trend.slope_ms_per_day == pytest.approx(6.0)


@pytest.mark.parametrize(("baseline_p99", "change"), [(20.0, 50.0), (30.0, 0.0), (None, None)])
def test_change_against_the_baseline(baseline_p99, change):
    known = {} if baseline_p99 is None else {"commit": baseline(p99_ms=baseline_p99)}
    (trend,) = trends(rollups(_hourly((30.0, 30.0, 30.0)), 3600), START, NOW, baselines=known)
    assert trend.window_p99_ms == 30.0
    assert trend.change_pct == (None if change is None else pytest.approx(change))


def test_operations_can_be_named_even_without_data():
    found = trends(rollups(_hourly((1.0,)), 3600), START, NOW, operations=["commit", "merge"])
    assert [t.operation for t in found] == ["commit", "merge"]
    assert np.isnan(found[1].p99_ms).all()
    assert found[1].slope_ms_per_day is None


# ---- slope only over two days or more; calendar days from explicit edges --------------------


@pytest.mark.parametrize(
    ("spike_hours", "hours_with_data", "has_slope"),
    [
        ((20,), range(24), False),  # one day with a short spike: no trend
        ((), range(47), False),  # 47 hours: still under two days
        ((), range(48), True),
        ((), (0, 71), True),  # first and last bucket with data two days apart or more
    ],
)
def test_slope_needs_two_days_of_data(spike_hours, hours_with_data, has_slope):
    hours = np.array(list(hours_with_data))
    seconds = np.repeat(hours * 3600 + 30.0, 10)
    values = np.where(np.isin(seconds // 3600, spike_hours), 200.0, 10.0)
    (trend,) = trends(rollups({"commit": (stamps(START, seconds), values)}, 3600), START, NOW)
    assert (trend.slope_ms_per_day is not None) is has_slope


def test_day_buckets_follow_the_edges_given():
    # the days of a zone 5 hours behind UTC: a row's hours belong to the day they fall on there
    edges = [START + timedelta(hours=5) + timedelta(days=d) for d in range(3)]
    seconds = np.arange(72) * 3600 + 30.0  # one request an hour from START (00:00 UTC)
    data = {"commit": (stamps(START, seconds), np.where(seconds < 5 * 3600, 99.0, 1.0))}
    (trend,) = trends(
        rollups(data, 3600), edges[0], NOW, resolution_s=86400, edges=edges, operations=["commit"]
    )
    assert [np.datetime64(e.replace(tzinfo=None), "s") for e in edges] == list(trend.buckets)
    assert trend.count.tolist() == [24, 24, 19]  # the last, today's, day is partial
    assert trend.p99_ms.max() == 1.0  # the hours before the first edge are not in any row
