import numpy as np
import pytest

from bot.analysis import score_series
from bot.analysis.params import DetectionParams
from tests.unit.analysis.factories import NOW, lognormal, stamps

MINUTES = 180
SPIKE = slice(150, 155)  # minutes


def _series(per_minute: int, spike: float = 5.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.repeat(np.arange(MINUTES) * 60.0, per_minute) + np.tile(
        np.linspace(1, 59, per_minute), MINUTES
    )
    values = lognormal(seed, len(offsets), 5.0, 0.4)
    minute = (offsets // 60).astype(int)
    values[(minute >= SPIKE.start) & (minute < SPIKE.stop)] *= spike
    return stamps(NOW, offsets), values


@pytest.mark.parametrize(
    ("per_minute", "params", "first_alarm"),
    [
        # 5 requests are too few for the 1-minute window (robust_min_samples = 10); the
        # 5-minute window has it by the spike's second minute.
        (5, None, SPIKE.start + 1),
        # One request a minute is no evidence alone; the 5-minute window has it by the third.
        (1, DetectionParams(min_samples=1, robust_min_samples=1), SPIKE.start + 2),
        (5, DetectionParams(detector="zscore"), SPIKE.start),
    ],
)
def test_a_spike_scores_above_one_half_and_quiet_minutes_below(per_minute, params, first_alarm):
    times, values = _series(per_minute)
    scores = score_series(times, values, params)
    minute = np.arange(len(values)) // per_minute
    assert scores.shape == values.shape
    assert ((scores >= 0) & (scores < 1)).all()
    assert (scores[(minute >= first_alarm) & (minute < SPIKE.stop)] >= 0.5).all()
    if params is None or params.detector == "robust":
        assert (scores[(minute >= 30) & (minute < SPIKE.start)] < 0.5).all()


def test_scores_are_causal():
    times, values = _series(5)
    changed = values.copy()
    changed[-100:] *= 50
    before, after = score_series(times, values), score_series(times, changed)
    assert np.array_equal(before[:-100], after[:-100])
    assert not np.array_equal(before[-100:], after[-100:])


def test_order_of_points_does_not_matter():
    times, values = _series(5)
    order = np.random.default_rng(0).permutation(len(values))
    assert np.array_equal(
        score_series(times, values)[order], score_series(times[order], values[order])
    )


def test_empty_series():
    assert score_series(np.zeros(0, dtype="datetime64[s]"), np.zeros(0)).shape == (0,)


def _with_zeros(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Five requests a minute of a sub-millisecond operation that pgGit's NUMERIC(10,3) often
    stores as 0.000 ms; `kind` says what the spike minutes look like."""
    stamps_, values = _series(5, spike=1.0)
    values = np.round(values / 5000.0, 3)  # ~1 us: most round to 0.000
    minute = np.repeat(np.arange(MINUTES), 5)
    spike = (minute >= SPIKE.start) & (minute < SPIKE.stop)
    if kind == "all zero":
        values[:] = 0.0
    elif kind == "spike from zero":
        values[spike] = 5.0
    elif kind == "window all zero":
        values[spike] = 0.0
    return stamps_, values


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("kind", "detector", "alarm"),
    [
        ("all zero", "robust", False),
        ("all zero", "zscore", False),
        ("mostly zero", "robust", False),
        ("window all zero", "robust", False),  # faster is not an incident
        ("spike from zero", "robust", True),
    ],
)
def test_zero_durations_score_like_any_other_value(kind, detector, alarm):
    stamps_, values = _with_zeros(kind)
    assert (values == 0.0).any()
    scores = score_series(stamps_, values, DetectionParams(detector=detector))
    assert np.isfinite(scores).all()
    minute = np.repeat(np.arange(MINUTES), 5)
    quiet = minute < SPIKE.start
    assert scores[quiet].max() < 0.5
    # the spike's second minute: its first holds 5 requests, too few for the 1-minute window
    assert bool(scores[minute == SPIKE.start + 1].max() >= 0.5) is alarm


def _low_rate(every_min: int, shift: float, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """One request every `every_min` minutes for a day, latency x`shift` over the last 30
    minutes."""
    offsets = np.arange(0, 24 * 60, every_min) * 60.0 + 17.0
    values = lognormal(seed, len(offsets), 5.0, 0.4)
    values[offsets >= (24 * 60 - 30) * 60] *= shift
    return stamps(NOW, offsets), values


@pytest.mark.parametrize(
    ("every_min", "shift", "pool", "alarm"),
    [
        (3, 4.0, (30, 60), True),  # 10 requests in the last 30 minutes: pooled, found
        (5, 4.0, (), False),  # 3 per 15 minutes: below min_samples without pooling
        (3, 1.0, (30, 60), False),
        (5, 4.0, (30, 60), True),  # one request every 5 minutes: the hour window
    ],
)
def test_low_rate_operations_pool_windows_up_to_an_hour(every_min, shift, pool, alarm):
    stamps_, values = _low_rate(every_min, shift)
    scores = score_series(stamps_, values, DetectionParams(pool_windows_min=pool))
    late = stamps_ >= stamps_[-1] - np.timedelta64(30 * 60, "s")
    assert scores[~late].max() < 0.5
    assert bool(scores[late].max() >= 0.5) is alarm
