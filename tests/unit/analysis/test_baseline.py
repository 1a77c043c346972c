from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.baseline import (
    Accumulated,
    compute_baselines,
    decide_all,
    decide_replacement,
    multiplier_for,
)
from bot.analysis.params import BaselineParams
from bot.analysis.rollups import Rollups
from tests.unit.analysis.factories import NOW, baseline, lognormal, rollups, stamps


@pytest.mark.parametrize(
    ("operation", "multiplier"),
    [
        ("merge", 2.0),
        ("merge_branches", 2.0),
        ("merge_base_find", 2.0),
        ("apply_data_merge", 2.0),  # contains "merge", as the seed's '%merge%'
        ("get_history", 2.0),
        ("get_history_page", 2.0),
        ("rollback", 2.0),
        ("rollback_commit", 2.0),
        ("conflict_detection", 2.0),  # pgGit's merge steps
        ("auto_resolution", 2.0),
        ("merge_conflict_detect", 2.0),
        ("commit", 2.5),
        ("branch_create", 2.5),
        ("get_objects", 2.5),
        ("get_object_timeline", 2.5),
    ],
)
def test_multiplier(operation, multiplier):
    assert multiplier_for(operation) == multiplier


def _hourly(
    count: int, op: str = "commit", seed: int = 1, days: int = 7
) -> tuple[Rollups, np.ndarray]:
    seconds = np.linspace(0, days * 86400 - 1, count)
    values = lognormal(seed, count, 10.0, 0.5)
    return rollups({op: (stamps(NOW - timedelta(days=days), seconds), values)}, 3600), values


@pytest.mark.parametrize(("count", "kept"), [(9, False), (10, True), (5000, True)])
def test_operations_below_min_samples_are_skipped(count, kept):
    hourly, _ = _hourly(count)
    assert ("commit" in compute_baselines(hourly, BaselineParams(), NOW)) is kept


def test_baseline_statistics():
    hourly, values = _hourly(20_000)
    found = compute_baselines(hourly, BaselineParams(), NOW)["commit"]
    assert found.sample_count == 20_000
    assert found.mean_ms == pytest.approx(values.mean())
    assert found.stddev_ms == pytest.approx(values.std(ddof=0))  # population, documented
    assert (found.min_ms, found.max_ms) == (values.min(), values.max())
    for q, got in zip(
        (50, 75, 90, 95, 99),
        (found.p50_ms, found.p75_ms, found.p90_ms, found.p95_ms, found.p99_ms),
        strict=True,
    ):
        assert got == pytest.approx(np.percentile(values, q), rel=0.025)
    mad = np.median(np.abs(values - np.median(values)))
    assert found.mad_ms == pytest.approx(mad, rel=0.06)
    assert found.multiplier == 2.5
    assert (found.window_start, found.window_end, found.computed_at) == (
        NOW - timedelta(days=7),
        NOW,
        NOW,
    )


def test_samples_outside_the_window_are_ignored():
    hourly, _ = _hourly(100, days=14)  # half of them older than 7 days
    assert compute_baselines(hourly, BaselineParams(), NOW)["commit"].sample_count == 50


def _week(days: int = 9) -> Rollups:
    """Hourly rollups of three operations over `days` days: `merge` only in the first two,
    `revert` only in the last (operations come and go from one day to the next); `commit`
    has 9 samples in all, 7 of them in the window (below min_samples)."""
    seconds = np.arange(0, days * 86400, 1800.0)
    start = NOW - timedelta(days=days)
    return rollups(
        {
            "commit": (stamps(start, np.linspace(0, days * 86400 - 1, 9)), lognormal(3, 9, 5, 1)),
            "fetch": (stamps(start, seconds), lognormal(4, len(seconds), 20, 0.8)),
            "merge": (stamps(start, seconds[:96]), lognormal(5, 96, 90, 0.4)),
            "revert": (stamps(start, seconds[-48:]), lognormal(6, 48, 7, 0.3)),
        },
        3600,
    )


@pytest.mark.parametrize("cuts_h", [[], [24], [24 * d for d in range(1, 9)], [5, 100, 101, 200]])
def test_baselines_folded_part_by_part_equal_those_of_all_rows(cuts_h):
    """`Accumulated` (a day of hourly rollups at a time) gives the baselines of the whole
    span: same operations, counts, extremes and quantiles, moments within rounding."""
    week = _week()
    whole = compute_baselines(week, BaselineParams(), NOW)
    start = NOW - timedelta(days=7)
    folded = Accumulated(start, NOW)
    edges = [week.bucket.min(), *(week.bucket.min() + np.timedelta64(h, "h") for h in cuts_h)]
    for a, b in zip(edges, [*edges[1:], week.bucket.max() + np.timedelta64(1, "h")], strict=True):
        part = week.select(a, b)
        folded.add(part.recode(tuple(sorted(set(part.operations[c] for c in part.op)))))
    parts = folded.baselines(BaselineParams(), NOW)
    assert sorted(parts) == sorted(whole) == ["fetch", "revert"]
    for name, mine in parts.items():
        theirs = whole[name]
        exact = ("sample_count", "min_ms", "max_ms", "p50_ms", "p90_ms", "p99_ms", "mad_ms")
        assert {f: getattr(mine, f) for f in exact} == {f: getattr(theirs, f) for f in exact}
        assert mine.mean_ms == pytest.approx(theirs.mean_ms, rel=1e-12)
        assert mine.stddev_ms == pytest.approx(theirs.stddev_ms, rel=1e-9)


def test_nothing_folded_gives_no_baselines():
    assert Accumulated(NOW - timedelta(days=7), NOW).baselines(BaselineParams(), NOW) == {}


@pytest.mark.parametrize(
    ("old_p99", "new_p99", "force", "manual", "replaced", "reason", "change"),
    [
        (None, 10.0, False, False, True, "first", None),
        (100.0, 104.9, False, False, False, "scheduled", 4.9),
        (100.0, 105.0, False, False, True, "scheduled", 5.0),
        (100.0, 95.0, False, False, True, "scheduled", -5.0),
        (100.0, 95.1, False, True, False, "manual", -4.9),
        (100.0, 101.0, True, False, True, "force", 1.0),
    ],
)
def test_replacement_decision(old_p99, new_p99, force, manual, replaced, reason, change):
    old = None if old_p99 is None else baseline(p99_ms=old_p99)
    decision = decide_replacement(old, baseline(p99_ms=new_p99), force=force, manual=manual)
    assert (decision.replaced, decision.reason) == (replaced, reason)
    assert decision.change_pct == (None if change is None else pytest.approx(change))


def test_decide_all_covers_every_fresh_baseline_in_order():
    fresh = {"b": baseline("b"), "a": baseline("a")}
    changes = decide_all({"a": baseline("a")}, fresh)
    assert [(c.operation_type, c.replaced, c.reason) for c in changes] == [
        ("a", False, "scheduled"),
        ("b", True, "first"),
    ]
