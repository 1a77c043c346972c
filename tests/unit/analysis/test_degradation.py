from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.analysis.degradation import assess_degradation, least_squares_slope, throttle, trend_of
from bot.analysis.params import DegradationParams
from bot.analysis.rollups import Rollups
from bot.models import AnomalyKind, Severity
from tests.factories import make_anomaly
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
        (15.0, Severity.WARNING),  # +50 %: a degradation alone is a WARNING
        (19.99, Severity.WARNING),
        (20.0, Severity.CRITICAL),  # p99 doubled, on every day of the second half
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


def _tail_and_body(tail: float, body: float, per_half: int = 1000) -> Rollups:
    """10 ms requests with a slowest 2 % at 50 ms in the first half; in the second the body
    (the fastest 98 %) x `body` and the slow 2 % x `tail`."""
    start = NOW - timedelta(days=7)
    seconds = np.concatenate(
        [np.linspace(0, HALF_S - 1, per_half), np.linspace(HALF_S, 2 * HALF_S - 1, per_half)]
    )
    slow = (np.arange(2 * per_half) % 50) == 0
    late = seconds >= HALF_S
    values = np.where(slow, 50.0, 10.0) * np.where(late, np.where(slow, tail, body), 1.0)
    return rollups({"commit": (stamps(start, seconds), values)}, 3600)


@pytest.mark.parametrize(
    ("tail", "body", "severity"),
    [
        (1.5, 1.0, Severity.INFO),  # p99 +50 %, the p90 unmoved: the tail alone is INFO
        (3.0, 1.0, Severity.INFO),  # even x3: rare slow requests, not the operation
        (1.5, 1.25, Severity.INFO),  # p90 +25 %: below body_pct (30)
        (1.5, 1.35, Severity.WARNING),  # both the p99 and the p90 up by a third or more
    ],
)
def test_warning_needs_the_p90_to_move_too(tail, body, severity):
    found = assess_degradation(_tail_and_body(tail, body), PARAMS, NOW)["commit"]
    assert found.severity is severity
    assert found.body_pct == pytest.approx(100.0 * (body - 1.0), abs=2.5)


def _ramp(shape: str) -> Rollups:
    """Hourly samples over 7 days at 10 ms, then from day 4 (wholly in the second half) as
    `shape` says: a step to x3, a ramp reaching x3 only on the last day, or one bad day."""
    start = NOW - timedelta(days=7)
    seconds = np.arange(7 * 24 * 4) * 900.0 + 60.0
    day = seconds / 86400
    if shape == "step":
        factor = np.where(day >= 3.5, 3.0, 1.0)
    elif shape == "ramp":
        factor = np.where(day >= 6, 3.0, np.where(day >= 3.5, 1.5, 1.0))
    else:  # one bad day in the middle of the second half
        factor = np.where((day >= 4) & (day < 5), 3.0, np.where(day >= 3.5, 1.5, 1.0))
    return rollups({"commit": (stamps(start, seconds), 10.0 * factor)}, 3600)


@pytest.mark.parametrize(
    ("shape", "severity"),
    [("step", Severity.CRITICAL), ("ramp", Severity.WARNING), ("one bad day", Severity.WARNING)],
)
def test_critical_needs_a_large_and_sustained_shift(shape, severity):
    found = assess_degradation(_ramp(shape), PARAMS, NOW)["commit"]
    assert found.degradation_pct >= PARAMS.critical_pct
    assert found.severity is severity


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


def _steady_week_with_a_spike(spike_ms: float = 80.0) -> tuple[Rollups, datetime]:
    """A steady week of 10 ms at 20 samples an hour, except one hour of the second half in which
    every one of 60 samples took `spike_ms`: enough to make that half's p99 the spike's.
    Returns the rollups and the start of the spike's hour."""
    start = NOW - timedelta(days=7)
    hours = np.arange(7 * 24)
    seconds = (hours[:, None] * 3600 + np.linspace(30, 3570, 20)[None, :]).ravel()
    values = np.full(len(seconds), 10.0)
    spike_hour = start + timedelta(hours=150)
    spike_seconds = 150 * 3600 + np.linspace(30, 3570, 60)
    return (
        rollups(
            {
                "commit": (
                    stamps(start, np.concatenate([seconds, spike_seconds])),
                    np.concatenate([values, np.full(60, spike_ms)]),
                )
            },
            3600,
        ),
        spike_hour,
    )


@pytest.mark.parametrize(
    ("spike_hours", "reported"),
    [
        (None, True),  # the hour of spike samples alone reads as a degradation
        ({"commit": set()}, True),
        ({"get_history": {"spike"}}, True),  # another operation's spike hides nothing here
        ({"commit": {"spike"}}, False),
        ({"commit": {"spike", "hour before"}}, False),
    ],
)
def test_a_spike_is_not_its_own_degradation(spike_hours, reported):
    hourly, spike_hour = _steady_week_with_a_spike()
    named = {"spike": spike_hour, "hour before": spike_hour - timedelta(hours=1)}
    hours = (
        None
        if spike_hours is None
        else {op: {named[h] for h in hs} for op, hs in spike_hours.items()}
    )
    found = assess_degradation(hourly, PARAMS, NOW, hours)
    assert ("commit" in found) is reported
    if reported:
        assert found["commit"].p99_after_ms > 2 * found["commit"].p99_before_ms


def test_a_degradation_outside_the_spike_hours_is_still_reported():
    found = assess_degradation(
        _halves(10.0, 20.0), PARAMS, NOW, {"commit": {NOW - timedelta(hours=2)}}
    )
    assert found["commit"].severity is Severity.CRITICAL


# ---- throttle: which of a cycle's degradations to record -------------------------------------

REPEAT = timedelta(minutes=10)
CYCLE = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _found(kind: AnomalyKind, severity: Severity, op: str = "commit", at: datetime = CYCLE):
    return make_anomaly(operation_type=op, kind=kind, severity=severity, detected_at=at)


@pytest.mark.parametrize(
    ("last", "kept"),
    [
        pytest.param(None, True, id="never recorded"),
        pytest.param((Severity.WARNING, timedelta(minutes=1)), False, id="same, a minute ago"),
        pytest.param(
            (Severity.WARNING, timedelta(minutes=9, seconds=59)), False, id="same, <repeat"
        ),
        pytest.param((Severity.WARNING, REPEAT), True, id="same, exactly repeat ago"),
        pytest.param((Severity.WARNING, timedelta(hours=3)), True, id="same, long ago"),
        pytest.param((Severity.INFO, timedelta(minutes=1)), True, id="rose"),
        pytest.param((Severity.CRITICAL, timedelta(minutes=1)), True, id="fell"),
        pytest.param((Severity.WARNING, timedelta(0)), False, id="same, this very minute"),
    ],
)
def test_throttle_keeps_a_degradation_when_new_changed_or_due(last, kept):
    found = [_found(AnomalyKind.DEGRADATION, Severity.WARNING)]
    recorded = {}
    if last is not None:
        severity, ago = last
        recorded["commit"] = _found(AnomalyKind.DEGRADATION, severity, at=CYCLE - ago)
    assert throttle(found, recorded, CYCLE, REPEAT) == (found if kept else [])


@pytest.mark.parametrize(
    "kind", [AnomalyKind.STATISTICAL, AnomalyKind.THRESHOLD, AnomalyKind.COMBINED]
)
def test_throttle_never_drops_a_spike(kind):
    found = [_found(kind, Severity.WARNING)]
    recorded = {"commit": _found(AnomalyKind.DEGRADATION, Severity.WARNING, at=CYCLE)}
    assert throttle(found, recorded, CYCLE, REPEAT) == found


def test_throttle_judges_each_operation_by_its_own_record():
    found = [
        _found(AnomalyKind.STATISTICAL, Severity.CRITICAL, op="commit"),
        _found(AnomalyKind.DEGRADATION, Severity.WARNING, op="commit"),
        _found(AnomalyKind.DEGRADATION, Severity.WARNING, op="merge"),
        _found(AnomalyKind.DEGRADATION, Severity.INFO, op="rollback"),
    ]
    recorded = {
        "commit": _found(AnomalyKind.DEGRADATION, Severity.WARNING, at=CYCLE - REPEAT / 2),
        "merge": _found(AnomalyKind.DEGRADATION, Severity.WARNING, at=CYCLE - 2 * REPEAT),
    }
    assert throttle(found, recorded, CYCLE, REPEAT) == [found[0], found[2], found[3]]
