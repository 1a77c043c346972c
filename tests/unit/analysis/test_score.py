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
        (5, None, SPIKE.start),
        # One request a minute is no evidence alone; the 5-minute window has it by the third.
        (1, DetectionParams(min_samples=1), SPIKE.start + 2),
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
