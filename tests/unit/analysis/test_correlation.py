from datetime import timedelta

import numpy as np
import pytest

from bot.analysis import correlation
from bot.analysis.correlation import correlate, minute_means, pearson
from bot.analysis.params import CorrelationParams
from bot.analysis.rollups import Rollups
from bot.models import BottleneckType, Severity
from tests.unit.analysis.factories import NOW, rollups, stamps

PARAMS = CorrelationParams(lookback=timedelta(hours=24))  # the tests build up to 500 minutes


def _pair_with_r(r: float, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two series of n points whose Pearson r is exactly r."""
    rng = np.random.default_rng(seed)
    x, z = rng.standard_normal((2, n))
    x = (x - x.mean()) / x.std()
    z = z - z.mean()
    z = z - (z @ x) / n * x  # orthogonal to x
    z = z / z.std()
    return 50 + 5 * x, 50 + 5 * (r * x + np.sqrt(1 - r * r) * z)


def _minutes(series: dict[str, np.ndarray]) -> Rollups:
    """One sample per minute per operation, ending at NOW."""
    parts = {}
    for op, values in series.items():
        count = len(values)
        seconds = (np.arange(count) + 0.5) * 60 - count * 60
        parts[op] = (stamps(NOW, seconds), values)
    return rollups(parts)


def test_pearson_matches_numpy_pairwise_complete():
    rng = np.random.default_rng(3)
    values = rng.random((6, 300)) * 10
    values[1] = values[0] * 3 + rng.random(300)
    values[2, ::4] = np.nan
    values[3, 100:] = np.nan
    r, n = pearson(values)
    for a in range(6):
        for b in range(6):
            both = np.isfinite(values[a]) & np.isfinite(values[b])
            assert n[a, b] == both.sum()
            expected = np.corrcoef(values[a][both], values[b][both])[0, 1]
            assert r[a, b] == pytest.approx(expected, abs=1e-9)


def test_a_constant_series_has_no_correlation():
    r, _ = pearson(np.array([[1.0, 2.0, 3.0, 4.0], [7.0, 7.0, 7.0, 7.0]]))
    assert np.isnan(r[0, 1])


@pytest.mark.parametrize(
    ("r", "n", "severity"),
    [
        (0.74, 200, None),
        (0.75, 200, Severity.WARNING),
        (0.89, 200, Severity.WARNING),
        (0.9, 200, Severity.CRITICAL),
        (0.95, 9, None),  # fewer than 10 shared minutes
        (0.95, 10, Severity.CRITICAL),
        (-0.95, 200, None),  # only co-movement counts
    ],
)
def test_thresholds(r, n, severity):
    a, b = _pair_with_r(r, n)
    found = correlate(
        _minutes({"merge_branches": a, "merge_base_find": b}),
        {"merge_branches", "merge_base_find"},
        PARAMS,
        NOW,
    )
    assert [c.severity for c in found] == ([] if severity is None else [severity])
    if found:
        (pair,) = found
        assert (pair.operation_a, pair.operation_b) == ("merge_base_find", "merge_branches")
        assert pair.r == pytest.approx(r, abs=1e-9)
        assert pair.n == n
        assert pair.bottleneck is BottleneckType.MERGE_PIPELINE_SATURATION
        assert (pair.window_start, pair.window_end) == (NOW - timedelta(hours=24), NOW)


@pytest.mark.parametrize(("n", "confidence"), [(50, 0.5), (100, 1.0), (500, 1.0)])
def test_confidence(n, confidence):
    a, b = _pair_with_r(0.95, n)
    (pair,) = correlate(
        _minutes({"commit": a, "branch_create": b}), {"commit", "branch_create"}, PARAMS, NOW
    )
    assert pair.confidence == confidence


@pytest.mark.parametrize(
    ("degraded", "pairs"),
    [
        ({"commit", "branch_create", "get_history"}, 3),
        ({"commit", "branch_create"}, 1),
        ({"commit"}, 0),  # healthy operations never correlate, however alike
        (set(), 0),
    ],
)
def test_only_degraded_operations_are_paired(degraded, pairs):
    a, b = _pair_with_r(0.99, 200)
    series = {"commit": a, "branch_create": b, "get_history": a * 2}
    assert len(correlate(_minutes(series), degraded, PARAMS, NOW)) == pairs


def test_minute_means_mark_missing_minutes():
    times = stamps(NOW - timedelta(minutes=3), [10, 20, 130])
    means = minute_means(
        rollups({"commit": (times, np.array([2.0, 4.0, 9.0]))}),
        ("commit", "x"),
        NOW - timedelta(minutes=3),
        NOW,
    )
    assert means[0, 0] == 3.0
    assert np.isnan(means[0, 1])
    assert means[0, 2] == 9.0
    assert np.isnan(means[1]).all()


def _many(k: int, seed: int = 4) -> dict[str, np.ndarray]:
    """k operations over 120 minutes: the first half share one slowdown (they correlate), the
    rest are noise; a few minutes missing here and there."""
    rng = np.random.default_rng(seed)
    shared = np.cumsum(rng.standard_normal(120))
    series = {}
    for i in range(k):
        values = 20 + rng.standard_normal(120) + (3 * shared if i < k // 2 else 0)
        values[rng.integers(0, 120, 5)] = np.nan
        series[f"op{i:03d}"] = values
    return series


def _sparse_minutes(series: dict[str, np.ndarray]) -> Rollups:
    parts = {}
    for op, values in series.items():
        seconds = (np.arange(len(values)) + 0.5) * 60 - len(values) * 60
        ok = np.isfinite(values)
        parts[op] = (stamps(NOW, seconds[ok]), values[ok])
    return rollups(parts)


@pytest.mark.parametrize("cells", [1, 7, 40, 10_000_000])
def test_blocks_of_any_size_find_the_pairs_of_the_full_matrix(monkeypatch, cells):
    series = _many(30)
    minutes = _sparse_minutes(series)
    names = tuple(sorted(series))
    r, n = pearson(minute_means(minutes, names, NOW - timedelta(hours=2), NOW))
    a, b = np.nonzero(
        np.triu(np.ones_like(n, dtype=bool), k=1) & (n >= 10) & (np.nan_to_num(r, nan=-2) >= 0.75)
    )
    expected = sorted(
        ((float(r[i, j]), names[i], names[j]) for i, j in zip(a, b, strict=True)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    monkeypatch.setattr(correlation, "BLOCK_CELLS", cells)
    got = correlation.correlate_all(minutes, names, CorrelationParams(max_pairs=10_000), NOW)
    assert len(expected) > 10  # the test can fail
    assert [(c.r, c.operation_a, c.operation_b) for c in got.pairs] == expected
    assert (got.matched, got.capped) == (len(expected), False)


@pytest.mark.parametrize(("max_pairs", "capped"), [(1, True), (5, True), (10_000, False)])
def test_the_pair_cap_keeps_the_strongest_and_counts_the_rest(max_pairs, capped):
    series = _many(30)
    minutes = _sparse_minutes(series)
    full = correlation.correlate_all(minutes, set(series), CorrelationParams(max_pairs=10_000), NOW)
    got = correlation.correlate_all(
        minutes, set(series), CorrelationParams(max_pairs=max_pairs), NOW
    )
    assert got.pairs == full.pairs[:max_pairs]
    assert (got.matched, got.capped) == (full.matched, capped)
