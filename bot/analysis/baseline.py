"""Baselines: each operation's reference latency distribution over the last 7 days, computed
from hourly rollups, and the decision whether a fresh one replaces the active one.

The standard deviation is the *population* one (sqrt(M2 / n)), the same sigma the z-score
detector uses; the seed stored the sample one, which differs by under 5 % at the 10-sample
minimum and by nothing measurable at realistic counts. Quantiles and the MAD come from the merged
log-bucket histograms, so they are within about 2.2 % of the exact values (bucket granularity);
min, max, mean and stddev are exact."""

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from bot.analysis.bottleneck import MERGE_STEPS
from bot.analysis.histogram import SCALE, FloatArray, IntArray, bucket_lower_ms
from bot.analysis.params import BaselineParams
from bot.analysis.rollups import Rollups, as_datetime64
from bot.analysis.summary import Summary
from bot.models import Baseline, BaselineChange

BASELINE_QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99)
STRICT_FAMILIES = ("merge", "get_history", "rollback")
STRICT_MULTIPLIER = 2.0
DEFAULT_MULTIPLIER = 2.5


def multiplier_for(operation: str) -> float:
    """The threshold multiplier: 2.0 when the name contains `merge`, `get_history` or
    `rollback` (merge*, merge_branches, apply_data_merge, rollback_*, ...) or is one of pgGit's
    merge steps (conflict_detection, auto_resolution), else 2.5."""
    strict = any(f in operation for f in STRICT_FAMILIES) or operation in MERGE_STEPS
    return STRICT_MULTIPLIER if strict else DEFAULT_MULTIPLIER


def compute_baselines(
    hourly: Rollups, params: BaselineParams, now: datetime
) -> dict[str, Baseline]:
    """Fresh baselines per operation from hourly rollups in [now - lookback, now).

    Returns {operation: Baseline}; operations with fewer than `params.min_samples` samples are
    left out. Durations in ms; window_start/window_end/computed_at are derived from `now`."""
    window = hourly.select(as_datetime64(now - params.lookback), as_datetime64(now))
    if len(window) == 0:
        return {}
    return _baselines(window.operations, Summary.of(window), params, now)


class Accumulated:
    """What baselines need of hourly rollups (a `Summary` per operation), added up part by
    part (a day at a time): a week of thousands of operations is never in memory at once,
    only one day and the operations' histograms (10,000 x 576 counts)."""

    def __init__(self, start: datetime, now: datetime) -> None:
        self._window = as_datetime64(start), as_datetime64(now)
        self._index: dict[str, int] = {}
        self._stats: Summary | None = None

    def add(self, rows: Rollups) -> None:
        """Add the rows of [start, now) among `rows`."""
        window = rows.select(*self._window)
        if not len(window):
            return
        codes = np.array(
            [self._index.setdefault(name, len(self._index)) for name in window.operations],
            dtype=np.int64,
        )
        size = len(self._index)
        part = Summary.of(window).placed(codes, size)
        if self._stats is None:
            self._stats = part
        else:
            self._stats = self._stats.placed(np.arange(len(self._stats.n)), size) + part

    def baselines(self, params: BaselineParams, now: datetime) -> dict[str, Baseline]:
        """`compute_baselines` of every row added."""
        if self._stats is None:
            return {}
        return _baselines(tuple(self._index), self._stats, params, now)


def _baselines(
    operations: Sequence[str], stats: Summary, params: BaselineParams, now: datetime
) -> dict[str, Baseline]:
    start = now - params.lookback
    if stats.hist is None:
        raise ValueError("baselines need rollups with histograms")
    qs = np.maximum.accumulate(stats.quantiles(BASELINE_QUANTILES), axis=1)
    mad = _mad_ms(stats.hist, qs[:, 0])
    result: dict[str, Baseline] = {}
    for code in np.flatnonzero(stats.n >= params.min_samples).tolist():
        name = operations[code]
        p50, p75, p90, p95, p99 = (float(v) for v in qs[code])
        result[name] = Baseline(
            operation_type=name,
            sample_count=int(stats.n[code]),
            mean_ms=float(stats.mean_ms[code]),
            stddev_ms=float(stats.std_ms[code]),
            min_ms=float(stats.min_ms[code]),
            max_ms=float(stats.max_ms[code]),
            p50_ms=p50,
            p75_ms=p75,
            p90_ms=p90,
            p95_ms=p95,
            p99_ms=p99,
            mad_ms=float(mad[code]),
            multiplier=multiplier_for(name),
            window_start=start,
            window_end=now,
            computed_at=now,
        )
    return result


def _mad_ms(hist: IntArray, median_ms: FloatArray) -> FloatArray:
    """Median absolute deviation (ms) per row: the weighted median of |bucket centre - median|."""
    centres = bucket_lower_ms(np.arange(hist.shape[1])) * np.exp(0.5 / SCALE)
    deviation = np.abs(centres[None, :] - median_ms[:, None])
    order = np.argsort(deviation, axis=1)
    rows = np.arange(hist.shape[0])[:, None]
    cum = np.cumsum(hist[rows, order], axis=1)
    half = cum[:, -1:] / 2.0
    pick = np.minimum((cum < half).sum(axis=1), hist.shape[1] - 1)
    result: FloatArray = np.where(
        cum[:, -1] > 0, deviation[rows[:, 0], order[rows[:, 0], pick]], np.nan
    )
    return result


def decide_replacement(
    old: Baseline | None,
    new: Baseline,
    *,
    force: bool = False,
    manual: bool = False,
    min_change_pct: float = 5.0,
) -> BaselineChange:
    """Whether `new` replaces the active baseline `old`: always when there is none (reason
    `first`) or when forced (`force`); otherwise only when |p99 change| >= `min_change_pct` %
    (reason `manual` for an on-demand run, else `scheduled`). Kept baselines report
    replaced=False with the same reason. change_pct is in % of the old p99."""
    if old is None:
        return BaselineChange(
            operation_type=new.operation_type,
            old_p99_ms=None,
            new_p99_ms=new.p99_ms,
            change_pct=None,
            sample_count=new.sample_count,
            replaced=True,
            reason="first",
        )
    change = 100.0 * (new.p99_ms - old.p99_ms) / old.p99_ms if old.p99_ms > 0 else None
    moved = change is None or abs(change) >= min_change_pct
    reason = "force" if force else "manual" if manual else "scheduled"
    return BaselineChange(
        operation_type=new.operation_type,
        old_p99_ms=old.p99_ms,
        new_p99_ms=new.p99_ms,
        change_pct=change,
        sample_count=new.sample_count,
        replaced=force or moved,
        reason=reason,
    )


def decide_all(
    active: Mapping[str, Baseline],
    fresh: Mapping[str, Baseline],
    *,
    force: bool = False,
    manual: bool = False,
    min_change_pct: float = 5.0,
) -> list[BaselineChange]:
    """`decide_replacement` for every fresh baseline, in operation order. Operations without a
    fresh baseline (too few samples) keep their active one and get no entry."""
    return [
        decide_replacement(
            active.get(name), fresh[name], force=force, manual=manual, min_change_pct=min_change_pct
        )
        for name in sorted(fresh)
    ]
