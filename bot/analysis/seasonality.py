"""Hour-of-day seasonality: how much slower or faster each operation usually is at each hour of
the day than on average, learnt from a week of hourly rollups.

Offsets are in ln(ms) (0.1 = about 10 % slower). For each operation and hour of day the offset is
the *median*, over the days available, of that hour's mean ln(duration) minus the week's mean, so
one bad afternoon in the week does not teach the detector that afternoons are slow. An hour seen
on fewer than `min_days` days gets offset 0 (no seasonality claimed)."""

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from bot.analysis.histogram import FloatArray
from bot.analysis.rollups import Rollups, as_datetime64

HOURS = 24


def hour_of_day_offsets(
    hourly: Rollups, operations: Sequence[str], *, min_days: int = 3, min_samples: int = 5
) -> FloatArray:
    """Offsets (operations x 24) in ln(ms), for `operations` in that order; hourly rows with
    fewer than `min_samples` samples are ignored (their mean is noise)."""
    rows = hourly.recode(operations)
    k = len(operations)
    offsets: FloatArray = np.zeros((k, HOURS))
    use = rows.n >= min_samples
    if not use.any():
        return offsets
    op = rows.op[use]
    n = rows.n[use].astype(np.float64)
    mean_log = rows.sum_log[use] / n
    hour = (rows.bucket[use].astype(np.int64) // 3600) % HOURS
    centre = np.bincount(op, weights=n * mean_log, minlength=k) / np.maximum(
        np.bincount(op, weights=n, minlength=k), 1.0
    )
    deviation = mean_log - centre[op]
    group = op * HOURS + hour
    order = np.lexsort((deviation, group))
    group, deviation = group[order], deviation[order]
    counts = np.bincount(group, minlength=k * HOURS)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    filled = counts >= min_days
    lo = starts[filled] + (counts[filled] - 1) // 2
    hi = starts[filled] + counts[filled] // 2
    flat = offsets.reshape(-1)
    flat[np.flatnonzero(filled)] = (deviation[lo] + deviation[hi]) / 2.0
    return offsets


def expected_shift(reference: Rollups, offsets: FloatArray, now: datetime) -> FloatArray:
    """Per operation code of `reference`, the ln(ms) shift from the reference's typical level to
    the level expected in the minute before `now`: the current hour's offset minus the
    sample-weighted mean offset of the hours the reference covers."""
    k = len(reference.operations)
    hour_now = int((as_datetime64(now).astype(np.int64) - 60) // 3600 % HOURS)
    if len(reference) == 0:
        result: FloatArray = offsets[:, hour_now].copy()
        return result
    hour = (reference.bucket.astype(np.int64) // 3600) % HOURS
    n = reference.n.astype(np.float64)
    covered = np.bincount(
        reference.op, weights=n * offsets[reference.op, hour], minlength=k
    ) / np.maximum(np.bincount(reference.op, weights=n, minlength=k), 1.0)
    shift: FloatArray = offsets[:, hour_now] - covered
    return shift
