import numpy as np
import pytest

from bot.analysis.histogram import (
    MIN_MS,
    N_BUCKETS,
    SCALE,
    bucket_index,
    count_above,
    count_below,
    histogram,
    quantiles,
)
from tests.unit.analysis.factories import lognormal


@pytest.mark.parametrize(
    ("median", "sigma", "q"),
    [(5.0, 0.3, 0.5), (5.0, 0.3, 0.99), (50.0, 0.8, 0.9), (0.5, 0.4, 0.75), (200.0, 1.0, 0.95)],
)
def test_quantile_within_half_a_bucket_of_exact(median, sigma, q):
    values = lognormal(1, 20_000, median, sigma)
    got = quantiles(histogram(values)[None, :], np.array([q]), values.min(), values.max())[0, 0]
    assert got == pytest.approx(np.quantile(values, q), rel=0.025)


@pytest.mark.parametrize(("q", "expected"), [(0.0, 2.0), (1.0, 9.0)])
def test_extreme_quantiles_are_the_exact_min_and_max(q, expected):
    values = np.array([2.0, 3.0, 4.0, 9.0])
    got = quantiles(histogram(values)[None, :], np.array([q]), np.array([2.0]), np.array([9.0]))
    assert got[0, 0] == expected


def test_quantile_of_an_empty_row_is_nan():
    empty = np.zeros((1, N_BUCKETS), dtype=np.int64)
    got = quantiles(empty, np.array([0.5]), np.array([np.inf]), np.array([-np.inf]))
    assert np.isnan(got[0, 0])


@pytest.mark.parametrize(
    ("values", "cutoff", "above", "below"),
    [
        ([1.0, 2.0, 4.0, 8.0], 3.0, 2, 2),
        ([1.0, 2.0, 4.0, 8.0], 100.0, 0, 4),
        ([1.0, 2.0, 4.0, 8.0], 0.5, 4, 0),
        ([5.0, 5.0, 5.0], 5.0, 0, 0),  # the cut-off's own bucket is counted on neither side
    ],
)
def test_counts_beyond_a_cutoff_at_bucket_granularity(values, cutoff, above, below):
    hist = histogram(np.array(values))[None, :]
    assert count_above(hist, np.array([cutoff]))[0] == above
    assert count_below(hist, np.array([cutoff]))[0] == below


@pytest.mark.parametrize(("value", "bucket"), [(0.0, 0), (0.001, 0), (1e12, N_BUCKETS - 1)])
def test_bucket_index_clamps(value, bucket):
    assert bucket_index(np.array([value]))[0] == bucket


def dense_quantiles(hist: np.ndarray, qs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The former rows x quantiles x buckets formulation, as the reference."""
    cum = np.cumsum(hist, axis=1)
    total = cum[:, -1].astype(np.float64)
    target = np.maximum(qs[None, :] * total[:, None], 1e-9)
    bucket = np.minimum((cum[:, None, :] < target[:, :, None]).sum(axis=2), N_BUCKETS - 1)
    rows = np.arange(hist.shape[0])[:, None]
    below = np.where(bucket > 0, cum[rows, np.maximum(bucket - 1, 0)], 0).astype(np.float64)
    inside = np.maximum(hist[rows, bucket].astype(np.float64), 1.0)
    frac = np.clip((target - below) / inside, 0.0, 1.0)
    values = MIN_MS * np.exp((bucket + frac) / SCALE)
    clipped = np.clip(values, lo[:, None], hi[:, None])
    return np.where(total[:, None] > 0, clipped, np.nan)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_searchsorted_quantiles_equal_the_dense_formulation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    hist = np.zeros((40, N_BUCKETS), dtype=np.int64)
    for row in range(1, 40):  # row 0 stays empty
        values = rng.lognormal(rng.uniform(-2, 6), rng.uniform(0.1, 2), rng.integers(1, 400))
        hist[row] = histogram(values)
    qs = np.array([0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0])
    lo, hi = np.full(40, 1e-3), np.full(40, 1e9)
    got = quantiles(hist, qs, lo, hi)
    assert np.array_equal(np.isnan(got), np.isnan(dense_quantiles(hist, qs, lo, hi)))
    np.testing.assert_allclose(
        np.nan_to_num(got), np.nan_to_num(dense_quantiles(hist, qs, lo, hi)), rtol=1e-12
    )
