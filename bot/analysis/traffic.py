"""Traffic drops and silence: is an operation, or the whole source, reporting far fewer
requests than it usually does at this time?

A dead writer looks like a quiet night to the latency detectors (no rows, nothing to score), so
the request *counts* are checked on their own, per operation:

* usual rate: per hour, the lower of the same hour a week ago and the median of the same hour
  of day over the last 7 days (hours without rows count 0), per minute. The lower of the two:
  a quiet weekend hour is compared with last week's, a Monday's with the week's median, and a
  new operation (zeros in its first days) is not expected to be busy;
* observed: the requests in each window of the last 3, 15 and 60 minutes, against the usual
  requests of that window (minute by minute, each minute at its hour's usual rate);
* a window counts when at least `min_expected` requests were due in it (quiet operations never
  flap), the observed count is at most `max_ratio` of them, and a Poisson count of that mean is
  that low with a chance below `max_chance` (about 5 standard errors). A stop of an operation
  at 10 requests a minute is found by the 3-minute window, 3 minutes after it; one at 0.5 a
  minute only by the 60-minute one (30 requests due), once it has lasted most of an hour.

A stop is found faster by the run of empty minutes: no row for the last r >= `stop_min` (2)
minutes while P(no row in r minutes | usual rate) = exp(-due) < `stop_chance` (1e-5, 11.5
requests due): 2-3 minutes at >= 4 requests a minute, 4 at 3 a minute, 12 at 1 a minute; an
operation at 0.2 a minute needs 58 minutes (a chance of 1e-5 cannot be had sooner).

The whole source is `silent` when no operation has a row in the last `silence_min` (2) minutes or
more while their requests due make the silence a chance below `max_chance`, or in the last
`silence_after` while at least `min_expected` requests were due in it; its operations' drops are then left out (one
alert, not one per operation). Severities: a drop is a WARNING, a silent source CRITICAL
(every latency check is blind while it lasts)."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from bot.analysis.histogram import FloatArray
from bot.analysis.params import TrafficParams
from bot.analysis.rollups import Rollups, as_datetime, as_datetime64
from bot.models import Anomaly, AnomalyKind, Severity

HOUR_S = 3600
WEEK_H = 7 * 24
SOURCE = "*"  # the operation a silent source's anomaly names: all of them


@dataclass(frozen=True)
class TrafficDrop:
    """One operation's (or, with `operation` None, the source's) missing traffic over
    [window_start, window_end): `observed` requests where `expected` were usual."""

    operation: str | None
    observed: int
    expected: float
    window_start: datetime
    window_end: datetime
    chance: float

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else 1.0


@dataclass(frozen=True)
class TrafficVerdict:
    drops: tuple[TrafficDrop, ...]
    silent: TrafficDrop | None


def usual_per_minute(hourly: Rollups, hours: np.ndarray) -> FloatArray:
    """Per operation of `hourly` and per hour start in `hours` (datetime64[s]): the usual
    requests a minute (see the module docstring). (operations x hours)."""
    k = len(hourly.operations)
    result: FloatArray = np.zeros((k, len(hours)))
    if k == 0 or len(hours) == 0:
        return result
    index = hourly.bucket.astype("datetime64[h]").astype(np.int64)
    starts = np.asarray(hours).astype("datetime64[h]").astype(np.int64)
    # Requests per (operation, hour) over every hour any target reaches back to (0 without rows).
    lo = int(min(starts.min() - WEEK_H, index.min() if len(index) else starts.min()))
    hi = int(max(starts.max(), index.max() if len(index) else starts.max()))
    counts = np.zeros((k, hi - lo + 1))
    np.add.at(counts, (hourly.op, index - lo), hourly.n.astype(np.float64))
    for j, start in enumerate(starts.tolist()):
        same_hour = counts[:, [start - 24 * d - lo for d in range(1, 8)]]
        result[:, j] = np.minimum(np.median(same_hour, axis=1), counts[:, start - WEEK_H - lo]) / 60
    return result


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), summed in log space."""
    if mean <= 0:
        return 1.0
    terms = [i * math.log(mean) - mean - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def assess_traffic(
    minutes: Rollups, hourly: Rollups, now: datetime, params: TrafficParams
) -> TrafficVerdict:
    """Drops per operation and the source's silence at `now` (a minute boundary). `minutes`:
    minute rollups (counts suffice) of at least the longest window and `silence_after` before
    `now`; `hourly`: hourly rollups of the 8 days before, for the usual rates."""
    operations = tuple(sorted(set(hourly.operations) | set(minutes.operations)))
    longest = max(max(params.windows_min), math.ceil(params.silence_after / timedelta(minutes=1)))
    end = as_datetime64(now)
    first = end - np.timedelta64(60 * longest, "s")
    stamps = first + np.arange(longest) * np.timedelta64(60, "s")
    hours = np.unique(stamps.astype("datetime64[h]")).astype("datetime64[s]")
    usual_h = usual_per_minute(hourly.recode(operations), hours)
    slot = np.searchsorted(hours, stamps.astype("datetime64[h]").astype("datetime64[s]"))
    usual = usual_h[:, slot]  # operations x minutes, oldest first
    seen = _per_minute(minutes.recode(operations), first, longest)
    drops = [
        drop
        for op in _candidates(seen, usual, params).tolist()
        if (drop := _worst(operations[op], seen[op], usual[op], now, params)) is not None
    ]
    silent = _silent(seen, usual, now, params)
    return TrafficVerdict(() if silent else tuple(drops), silent)


def _per_minute(minutes: Rollups, first: np.datetime64, width: int) -> np.ndarray:
    seen = np.zeros((len(minutes.operations), width), dtype=np.int64)
    col = ((minutes.bucket - first).astype("timedelta64[s]").astype(np.int64)) // 60
    inside = (col >= 0) & (col < width)
    np.add.at(seen, (minutes.op[inside], col[inside]), minutes.n[inside])
    return seen


def _candidates(seen: np.ndarray, usual: FloatArray, params: TrafficParams) -> np.ndarray:
    """The operations that may have a drop in some window (`_judge`'s cheap tests, all
    operations at once, with a little slack for rounding) or a stop (no row in the last
    `stop_min`, `_empty_run`'s first test): only they are judged one by one."""
    quiet = max(int(params.stop_min / timedelta(minutes=1)), 1)
    found = seen[:, -quiet:].sum(axis=1) == 0
    slack = 1 + 1e-9
    for w in params.windows_min:
        observed = seen[:, -w:].sum(axis=1)
        expected = usual[:, -w:].sum(axis=1) * slack
        found |= (expected >= params.min_expected) & (observed <= params.max_ratio * expected)
    return np.flatnonzero(found)


def _worst(
    operation: str, seen: np.ndarray, usual: FloatArray, now: datetime, params: TrafficParams
) -> TrafficDrop | None:
    worst = _empty_run(operation, seen, usual, now, params.stop_min, params.stop_chance)
    for w in sorted(params.windows_min):
        drop = _judge(operation, int(seen[-w:].sum()), float(usual[-w:].sum()), w, now, params)
        if drop is not None and (worst is None or drop.chance < worst.chance):
            worst = drop
    return worst


def quiet_minutes(seen: np.ndarray) -> int:
    """How many of the last minutes of `seen` (oldest first) had no row, back to the newest
    minute with one."""
    rows = np.flatnonzero(np.asarray(seen) > 0)
    return len(seen) if len(rows) == 0 else len(seen) - 1 - int(rows[-1])


def _empty_run(
    operation: str | None,
    seen: np.ndarray,
    usual: FloatArray,
    now: datetime,
    least: timedelta,
    below: float,
) -> TrafficDrop | None:
    """A stop (of `operation`, or of the whole source for None): no row for the last r >=
    `least` minutes while P(no row | usual rate) = exp(-due) is below `below`: as fast as the
    rate allows (at `stop_chance`, at 10 a minute after 2 minutes, at 4 after 3, at 1 after
    12), with no floor on the requests due."""
    run = quiet_minutes(seen)
    if run < least / timedelta(minutes=1):
        return None
    due = float(usual[-run:].sum())
    chance = math.exp(-due)
    if chance >= below:
        return None
    return TrafficDrop(operation, 0, due, now - timedelta(minutes=run), now, chance)


def _judge(
    operation: str | None,
    observed: int,
    expected: float,
    window_min: int,
    now: datetime,
    params: TrafficParams,
) -> TrafficDrop | None:
    if expected < params.min_expected or observed > params.max_ratio * expected:
        return None
    chance = poisson_cdf(observed, expected)
    if chance >= params.max_chance:
        return None
    start = now - timedelta(minutes=window_min)
    return TrafficDrop(operation, observed, expected, start, now, chance)


def _silent(
    seen: np.ndarray, usual: FloatArray, now: datetime, params: TrafficParams
) -> TrafficDrop | None:
    w = math.ceil(params.silence_after / timedelta(minutes=1))
    if seen.size:  # a busy source: silent as soon as it shows
        source = seen.sum(axis=0), usual.sum(axis=0)
        found = _empty_run(None, *source, now, params.silence_min, params.max_chance)
        if found is not None:
            return found
    observed = int(seen[:, -w:].sum())
    expected = float(usual[:, -w:].sum())
    if observed > 0 or expected < params.min_expected:
        return None
    return TrafficDrop(None, 0, expected, now - timedelta(minutes=w), now, math.exp(-expected))


def last_row(minutes: Rollups) -> datetime | None:
    """The start of the newest minute with rows, if any."""
    return as_datetime(minutes.bucket.max()) if len(minutes) else None


def as_details(drop: TrafficDrop) -> Mapping[str, float | int | str]:
    """The facts a card shows: requests seen vs usual in the window, and the rates."""
    minutes = max((drop.window_end - drop.window_start) / timedelta(minutes=1), 1.0)
    return {
        "observed_count": drop.observed,
        "expected_count": round(drop.expected, 1),
        "window_min": int(minutes),
        "rate_per_min": round(drop.observed / minutes, 2),
        "usual_per_min": round(drop.expected / minutes, 2),
        "chance": drop.chance,
    }


def anomalies(verdict: TrafficVerdict, now: datetime) -> list[Anomaly]:
    """The verdict as anomalies: a WARNING `traffic_drop` per operation, or one CRITICAL
    `source_silent` for the whole source (operation `*`)."""
    found = [
        _anomaly(drop, AnomalyKind.TRAFFIC_DROP, Severity.WARNING, now) for drop in verdict.drops
    ]
    if verdict.silent is not None:
        found.append(_anomaly(verdict.silent, AnomalyKind.SOURCE_SILENT, Severity.CRITICAL, now))
    return found


def _anomaly(drop: TrafficDrop, kind: AnomalyKind, severity: Severity, now: datetime) -> Anomaly:
    return Anomaly(
        operation_type=drop.operation or SOURCE,
        kind=kind,
        severity=severity,
        detector="traffic",
        deviation_pct=100.0 * (drop.ratio - 1.0),
        samples=drop.observed,
        window_start=drop.window_start,
        window_end=drop.window_end,
        detected_at=now,
        details=dict(as_details(drop)),
    )
