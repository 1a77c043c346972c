"""Slow degradation: has an operation's p99 over the second half of the last 7 days risen against
the first half?

From hourly rollups, per operation: p99 of [start, mid) and of [mid, now) from the merged
histograms (within about 2.2 % of the exact p99), degradation % = 100 * (after - before) / before;
>= 20 % INFO, >= 30 % WARNING; improvements are never reported. WARNING and CRITICAL also need
the p90 up by `body_pct` (30 %): on heavy-tailed traffic the p99 lies among rare outliers and
moves by a third or more between halves by chance (measured on the quality bench's tuning
seeds: up to +283 % with the p90 within +27 %), so a p99 rise alone is INFO. CRITICAL needs a large *and*
sustained shift: >= `critical_pct` (100 %: p99 doubled) over the second half, and on every day
(24 h from `start`) that lies wholly in the second half, p99 at least that far above the first
half's. A ramp that only now reaches x2, or one bad day, is a WARNING: a degradation has been
building for days and waits for working hours; it does not page every tier at night. The trend is the
least-squares slope of the daily p99 against the day (ms/day), with its sign; confidence =
min(1, average samples per day / 50).

Unlike the original, each half needs `min_samples` samples: a p99 of a handful of requests is
just the slowest of them, so with no minimum one slow request in a quiet half reads as a 100 %+
"degradation" (the seed would page CRITICAL on 2 samples).

A degradation is judged without the hours in which a spike was detected (`spike_hours`): a p99
over three and a half days moves as soon as 1 % of its samples are slow, which a 50-minute
spike is, so with them a spike would be reported as its own "degradation" (and every spike
during it as `combined`).

`throttle` decides which of a cycle's degradations to record, from the last one recorded per
operation (read from the database, so every replica and restart decides alike)."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from bot.analysis.histogram import FloatArray, IntArray
from bot.analysis.params import DegradationParams
from bot.analysis.rollups import Rollups, as_datetime64
from bot.analysis.summary import Summary
from bot.models import Anomaly, AnomalyKind, Severity

DAY_S = 86_400


@dataclass(frozen=True)
class Degradation:
    """One operation's degradation verdict over [window_start, window_end) split at `midpoint`.
    Durations in ms; `trend_slope_ms_per_day` is None with fewer than two days of data."""

    operation: str
    severity: Severity | None
    degradation_pct: float
    p99_before_ms: float
    p99_after_ms: float
    trend_slope_ms_per_day: float | None
    trend: str  # DEGRADING | IMPROVING | STABLE
    confidence: float
    samples_before: int
    samples_after: int
    window_start: datetime
    midpoint: datetime
    window_end: datetime
    body_pct: float | None = None  # the p90's rise, %


def assess_degradation(
    hourly: Rollups,
    params: DegradationParams,
    now: datetime,
    spike_hours: Mapping[str, Collection[datetime]] | None = None,
) -> dict[str, Degradation]:
    """Degradations per operation over [now - lookback, now), only those at or above
    `params.info_pct` with at least `params.min_samples` samples in each half. `spike_hours`:
    per operation, the starts of the hours (UTC) in which a spike was detected; their rows are
    left out."""
    start, mid, days = window(params, now)
    rows = hourly.select(as_datetime64(start), as_datetime64(now)).without(spike_hours or {})
    if len(rows) == 0:
        return {}
    k = len(rows.operations)
    late = (rows.bucket >= as_datetime64(mid)).astype(np.int64)
    halves = Summary.of(rows, rows.op * 2 + late, 2 * k)
    both = halves.quantiles(HALF_QUANTILES)
    daily, day_counts = daily_p99(rows, as_datetime64(start), days)
    return verdicts(
        rows.operations,
        both.reshape(k, 2, 2),
        halves.n.reshape(k, 2),
        daily,
        day_counts,
        params,
        now,
    )


HALF_QUANTILES = (0.9, 0.99)


def window(params: DegradationParams, now: datetime) -> tuple[datetime, datetime, int]:
    """The degradation window at `now`: its start, its midpoint and its number of days."""
    start = now - params.lookback
    days = max(int(np.ceil(params.lookback.total_seconds() / DAY_S)), 1)
    return start, start + params.lookback / 2, days


def verdicts(
    operations: tuple[str, ...],
    halves: FloatArray,
    counts: IntArray,
    daily: FloatArray,
    day_counts: IntArray,
    params: DegradationParams,
    now: datetime,
) -> dict[str, Degradation]:
    """The degradations from per-operation aggregates of the window: `halves` (operations x
    2 halves x HALF_QUANTILES, ms), `counts` (operations x 2 halves), the daily p99 (ms, NaN
    without samples) and sample counts (operations x days)."""
    start, mid, _ = window(params, now)
    p99 = halves[:, :, 1]
    p90 = halves[:, :, 0]
    enough = (counts >= params.min_samples).all(axis=1) & (p99[:, 0] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(enough, 100.0 * (p99[:, 1] - p99[:, 0]) / p99[:, 0], np.nan)
        body = np.where(p90[:, 0] > 0, 100.0 * (p90[:, 1] - p90[:, 0]) / p90[:, 0], 0.0)
    slopes = least_squares_slope(daily)
    per_day = counts.sum(axis=1) / (params.lookback.total_seconds() / DAY_S)
    result: dict[str, Degradation] = {}
    sustained = _sustained(daily, day_counts, mid - start, p99[:, 0], params)
    for code in np.flatnonzero(np.nan_to_num(pct, nan=-np.inf) >= params.info_pct):
        slope = None if np.isnan(slopes[code]) else float(slopes[code])
        result[operations[code]] = Degradation(
            operation=operations[code],
            severity=severity_for(
                float(pct[code]),
                params,
                sustained=bool(sustained[code]),
                body_pct=float(body[code]),
            ),
            degradation_pct=float(pct[code]),
            body_pct=float(body[code]),
            p99_before_ms=float(p99[code, 0]),
            p99_after_ms=float(p99[code, 1]),
            trend_slope_ms_per_day=slope,
            trend=trend_of(slope),
            confidence=min(1.0, float(per_day[code]) / 50.0),
            samples_before=int(counts[code, 0]),
            samples_after=int(counts[code, 1]),
            window_start=start,
            midpoint=mid,
            window_end=now,
        )
    return result


def severity_for(
    pct: float,
    params: DegradationParams,
    *,
    sustained: bool = False,
    body_pct: float | None = None,
) -> Severity | None:
    """CRITICAL >= critical_pct when `sustained` (every day of the second half that far up),
    WARNING >= warning_pct, INFO >= info_pct, else None. With `body_pct` (the p90's rise, %),
    WARNING and CRITICAL also need it at least `params.body_pct`: else INFO."""
    body_ok = body_pct is None or body_pct >= params.body_pct
    if pct >= params.critical_pct and sustained and body_ok:
        return Severity.CRITICAL
    if pct >= params.warning_pct and body_ok:
        return Severity.WARNING
    if pct >= params.info_pct:
        return Severity.INFO
    return None


def trend_of(slope: float | None) -> str:
    """DEGRADING for a positive slope, IMPROVING for a negative one, else STABLE."""
    if slope is None or slope == 0:
        return "STABLE"
    return "DEGRADING" if slope > 0 else "IMPROVING"


def daily_p99(rows: Rollups, start: np.datetime64, days: int) -> tuple[FloatArray, IntArray]:
    """Per operation and day since `start`: p99 (ms; NaN for days without samples) and the
    sample count, both (operations x days)."""
    k = len(rows.operations)
    day = np.clip((rows.bucket - start).astype(np.int64) // DAY_S, 0, days - 1)
    stats = Summary.of(rows, rows.op * days + day, k * days)
    return stats.quantiles([0.99])[:, 0].reshape(k, days), stats.n.reshape(k, days)


def least_squares_slope(y: FloatArray) -> FloatArray:
    """Per row of `y` (rows x points, NaN = missing), the least-squares slope of y against the
    point index (units of y per point); NaN with fewer than two points."""
    ok = np.isfinite(y)
    x = np.broadcast_to(np.arange(y.shape[1], dtype=np.float64), y.shape)
    count = ok.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_mean = np.where(ok, x, 0.0).sum(axis=1) / count
        y_mean = np.where(ok, y, 0.0).sum(axis=1) / count
        dx = np.where(ok, x - x_mean[:, None], 0.0)
        dy = np.where(ok, y - y_mean[:, None], 0.0)
        slope: FloatArray = np.where(
            count >= 2, (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1), np.nan
        )
    return slope


def _sustained(
    p99: FloatArray,
    counts: IntArray,
    half: timedelta,
    before: FloatArray,
    params: DegradationParams,
) -> npt.NDArray[np.bool_]:
    """Per operation: every day wholly in the second half (from the window's start + `half` on)
    with samples has a p99 at least `critical_pct` above `before`, and there is at least one.
    `p99` and `counts`: per operation and day."""
    days = p99.shape[1]
    late = np.arange(days) * DAY_S >= half.total_seconds()
    seen = (counts > 0) & late[None, :]
    bar = (before * (1.0 + params.critical_pct / 100.0))[:, None]
    high = np.nan_to_num(p99, nan=-np.inf) >= bar
    result: npt.NDArray[np.bool_] = np.asarray(seen.any(axis=1) & ~(seen & ~high).any(axis=1))
    return result


def throttle(
    found: Sequence[Anomaly],
    recorded: Mapping[str, Anomaly],
    now: datetime,
    repeat: timedelta,
) -> list[Anomaly]:
    """`found` without the degradations that only repeat what is already recorded. A standing
    degradation is seen every cycle; it is kept when its operation has no degradation in
    `recorded` (the last one recorded per operation), when its severity differs from that one,
    or when that one was detected `repeat` or more before `now`: often enough to keep its alert
    alive without a row a minute. Every other anomaly is kept, in order."""
    kept = []
    for anomaly in found:
        last = recorded.get(anomaly.operation_type)
        if (
            anomaly.kind is AnomalyKind.DEGRADATION
            and last is not None
            and last.severity is anomaly.severity
            and now - last.detected_at < repeat
        ):
            continue
        kept.append(anomaly)
    return kept
