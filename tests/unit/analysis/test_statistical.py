"""The seed-compatible z-score detector, through the production entry point."""

from collections.abc import Sequence
from datetime import timedelta

import pytest

from bot.analysis.detection import detect
from bot.analysis.params import DetectionParams
from bot.analysis.rollups import Rollups
from bot.models import Anomaly, AnomalyKind, Severity
from tests.unit.analysis.factories import NOW, per_minute, rollups

ZSCORE = DetectionParams(detector="zscore")
HOURLY = Rollups.empty()


def _reference(values: Sequence[float] = (10.0, 20.0), minutes: int = 60) -> Rollups:
    """mean 15, population sigma 5 with the default values."""
    return rollups({"commit": per_minute(NOW - timedelta(minutes=minutes + 1), minutes, values)})


def _new(values: Sequence[float]) -> Rollups:
    return rollups({"commit": per_minute(NOW - timedelta(minutes=1), 1, values)})


def _run(
    new_values: Sequence[float], reference: Rollups | None = None, params: DetectionParams = ZSCORE
) -> list[Anomaly]:
    return detect(_new(new_values), reference or _reference(), HOURLY, {}, params, NOW)


@pytest.mark.parametrize(
    ("z", "severity"),
    [
        (2.99, None),
        (3.0, Severity.WARNING),
        (3.99, Severity.WARNING),
        (4.0, Severity.CRITICAL),
        (-2.99, None),
        (-3.0, Severity.WARNING),  # two-sided: unusually fast is flagged too
    ],
)
def test_z_thresholds(z, severity):
    found = _run([15.0, 15.0, 15.0 + 5.0 * z])
    assert [a.severity for a in found] == ([] if severity is None else [severity])
    if found:
        assert found[0].z_score == pytest.approx(z)
        assert found[0].kind is AnomalyKind.STATISTICAL
        assert found[0].detector == "zscore"


@pytest.mark.parametrize(
    ("reference", "fires"),
    [
        (_reference(minutes=2), False),  # 4 reference samples: below min_samples (5)
        (_reference(minutes=3), True),  # 6 samples
        (_reference(values=(15.0,)), False),  # sigma 0
    ],
)
def test_reference_must_have_samples_and_spread(reference, fires):
    assert bool(_run([100.0], reference)) is fires


def test_one_anomaly_per_operation_with_outlier_count_and_worst_z():
    found = _run([15.0] * 7 + [40.0, 45.0, 50.0])
    assert len(found) == 1
    (anomaly,) = found
    assert anomaly.outliers == 3
    assert anomaly.z_score == pytest.approx(7.0)
    assert anomaly.value_ms == 50.0
    assert anomaly.samples == 10
    assert anomaly.severity is Severity.CRITICAL
    assert anomaly.deviation_pct == pytest.approx(100.0 * (50 - 15) / 15)
    assert anomaly.details["statistical"]["reference_mean_ms"] == pytest.approx(15.0)


def test_the_reference_excludes_the_scored_window():
    """Had the new value been part of the reference, its z would be far below 4."""
    found = _run([35.0])
    assert found[0].z_score == pytest.approx(4.0)


@pytest.mark.parametrize("count", [1, 50])
def test_several_operations_are_scored_independently(count):
    ops = {f"op{i}": per_minute(NOW - timedelta(minutes=61), 60, (10.0, 20.0)) for i in range(3)}
    fresh = {
        f"op{i}": per_minute(NOW - timedelta(minutes=1), 1, [15.0] * count + [15 + 25.0 * (i == 1)])
        for i in range(3)
    }
    found = detect(rollups(fresh), rollups(ops), HOURLY, {}, ZSCORE, NOW)
    assert [a.operation_type for a in found] == ["op1"]
    assert found[0].z_score == pytest.approx(5.0)
