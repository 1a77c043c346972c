"""One detection cycle: threshold breaches, the choice of one spike-type anomaly per operation,
the combined rule and degradation anomalies."""

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.degradation import Degradation
from bot.analysis.detection import HourlyContext, detect, detect_with
from bot.analysis.params import DetectionParams
from bot.analysis.rollups import Rollups
from bot.models import AnomalyKind, Severity
from tests.unit.analysis.factories import NOW, baseline, lognormal, per_minute, rollups

ZSCORE = DetectionParams(detector="zscore")
ROBUST = DetectionParams(detector="robust")
WIDE = per_minute(NOW - timedelta(minutes=61), 60, (1.0, 200.0))  # sigma ~100: z never fires
LINE = {"commit": baseline(p99_ms=10.0, multiplier=2.5)}  # threshold 25 ms


def _new(values: Sequence[float], op: str = "commit") -> Rollups:
    return rollups({op: per_minute(NOW - timedelta(minutes=1), 1, values)})


def _context(degradation: Severity | None = None) -> HourlyContext:
    found = {} if degradation is None else {"commit": _degradation(degradation)}
    return HourlyContext(("commit",), np.zeros((1, 24)), found)


def _degradation(severity: Severity) -> Degradation:
    return Degradation(
        operation="commit",
        severity=severity,
        degradation_pct=35.0,
        p99_before_ms=10.0,
        p99_after_ms=13.5,
        trend_slope_ms_per_day=0.5,
        trend="DEGRADING",
        confidence=1.0,
        samples_before=500,
        samples_after=500,
        window_start=NOW - timedelta(days=7),
        midpoint=NOW - timedelta(days=3, hours=12),
        window_end=NOW,
    )


@pytest.mark.parametrize(
    ("worst", "severity"),
    [
        (25.0, None),  # equal to p99 x multiplier: not a breach (strictly greater)
        (25.001, Severity.WARNING),
        (49.99, Severity.WARNING),
        (50.0, Severity.CRITICAL),  # >= 5 x p99
    ],
)
def test_threshold_is_strictly_greater_and_critical_from_five_p99(worst, severity):
    found = detect(
        _new([5.0, 5.0, worst]), rollups({"commit": WIDE}), Rollups.empty(), LINE, ZSCORE, NOW
    )
    assert [(a.kind, a.severity) for a in found] == (
        [] if severity is None else [(AnomalyKind.THRESHOLD, severity)]
    )
    if found:
        assert found[0].value_ms == worst
        assert found[0].baseline_p99_ms == 10.0
        assert found[0].detector == "threshold"


def _robust_reference() -> Rollups:
    values = lognormal(3, 1440 * 10, 5.0, 0.5)
    times = per_minute(NOW - timedelta(minutes=1441), 1440, np.zeros(10))[0]
    return rollups({"commit": (times, values)})


@pytest.mark.parametrize(
    ("breaches", "fires"),
    [
        (1, False),  # one slow request is transient (runbook); the seed would page
        (2, False),  # two of ten: not yet significant against the reference's breach rate
        (4, True),
    ],
)
def test_robust_threshold_needs_repeated_significant_breaches(breaches, fires):
    line = {"commit": baseline(p99_ms=9.4, multiplier=2.5)}  # 23.5 ms: 0.1 % of the reference
    values = [5.0] * (10 - breaches) + [41.0] * breaches
    found = detect(_new(values), _robust_reference(), Rollups.empty(), line, ROBUST, NOW)
    kinds = [a.kind for a in found]
    assert (AnomalyKind.THRESHOLD in kinds) is fires


@pytest.mark.parametrize(
    ("values", "kind", "severity"),
    [
        # z = 5 (CRITICAL) and a 35 ms breach (WARNING): the stronger rule wins.
        ([15.0, 15.0, 35.0], AnomalyKind.STATISTICAL, Severity.CRITICAL),
        # z = 3.6 (WARNING) and a 33 ms breach (WARNING): a tie goes to the threshold.
        ([15.0, 15.0, 33.0], AnomalyKind.THRESHOLD, Severity.WARNING),
        # z = 7 (CRITICAL), 50 ms >= 5 x p99 (CRITICAL): threshold on the tie.
        ([15.0, 15.0, 50.0], AnomalyKind.THRESHOLD, Severity.CRITICAL),
    ],
)
def test_one_spike_anomaly_per_operation_keeps_the_other_facts(values, kind, severity):
    reference = rollups({"commit": per_minute(NOW - timedelta(minutes=61), 60, (10.0, 20.0))})
    found = detect_with(_context(), _new(values), reference, LINE, ZSCORE, NOW)
    assert [(a.kind, a.severity) for a in found] == [(kind, severity)]
    assert set(found[0].details) == {"statistical", "threshold"}
    assert found[0].details["statistical"]["severity"] is not None
    assert found[0].details["threshold"]["severity"] is not None


@pytest.mark.parametrize(
    ("spike_z", "degradation", "severity"),
    [
        (3.0, Severity.INFO, Severity.WARNING),
        (3.0, Severity.WARNING, Severity.WARNING),
        (3.0, Severity.CRITICAL, Severity.CRITICAL),
        (4.0, Severity.INFO, Severity.CRITICAL),
    ],
)
def test_combined_outlier_during_degradation(spike_z, degradation, severity):
    reference = rollups({"commit": per_minute(NOW - timedelta(minutes=61), 60, (10.0, 20.0))})
    new = _new([15.0, 15.0 + 5.0 * spike_z])
    found = detect_with(_context(degradation), new, reference, {}, ZSCORE, NOW)
    assert [(a.kind, a.severity) for a in found] == [
        (AnomalyKind.COMBINED, severity),
        (AnomalyKind.DEGRADATION, degradation),
    ]
    combined = found[0]
    assert combined.degradation_pct == 35.0
    assert combined.trend_slope == 0.5
    assert combined.details["degradation"]["severity"] == degradation.value


def test_degradation_alone_is_reported_even_without_new_data():
    empty = Rollups.empty(("commit",))
    found = detect_with(_context(Severity.WARNING), empty, empty, {}, ROBUST, NOW)
    assert [(a.kind, a.severity, a.detector) for a in found] == [
        (AnomalyKind.DEGRADATION, Severity.WARNING, "degradation")
    ]
    assert found[0].value_ms == 13.5
    assert found[0].confidence == 1.0


def test_anomaly_windows_and_times_come_from_now():
    reference = rollups({"commit": per_minute(NOW - timedelta(minutes=61), 60, (10.0, 20.0))})
    (anomaly,) = detect_with(_context(), _new([15.0, 60.0]), reference, {}, ZSCORE, NOW)
    assert (anomaly.window_start, anomaly.window_end, anomaly.detected_at) == (
        NOW - timedelta(minutes=1),
        NOW,
        NOW,
    )


def _week_slow_since(minutes: int) -> Rollups:
    """Hourly rollups: a steady week at 10 ms, 20 samples an hour, then 60 samples at 80 ms in
    the last `minutes` (the hour still open, which no recorded spike covers yet)."""
    week = per_minute(NOW - timedelta(days=7), 7 * 24 * 60, [10.0])
    slow = per_minute(NOW - timedelta(minutes=minutes), minutes, [80.0] * (60 // minutes))
    every_third = (week[0][::3], week[1][::3])
    times = np.concatenate([every_third[0], slow[0]])
    return rollups({"commit": (times, np.concatenate([every_third[1], slow[1]]))}, 3600)


@pytest.mark.parametrize(
    ("new_ms", "kinds"),
    [
        # The spike found now is left out of the degradation check: no "combined", no
        # degradation of its own.
        (80.0, [AnomalyKind.THRESHOLD]),
        # Without a spike in this cycle, nothing is left out.
        (5.0, [AnomalyKind.DEGRADATION]),
    ],
)
def test_a_spike_found_now_is_not_a_degradation(new_ms, kinds):
    found = detect(
        _new([new_ms] * 5),
        rollups({"commit": WIDE}),
        _week_slow_since(20),
        LINE,
        ZSCORE,
        NOW,
        spike_hours={},
    )
    assert [a.kind for a in found] == kinds
