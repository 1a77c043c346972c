"""One detection cycle: the entry point the `detect` job calls every minute.

Inputs are rollups the store already keeps: the new window's minute rollups, the reference (the
lookback, 24 h by default, minus the new window), a week of hourly rollups (seasonality and
degradation) and the active baselines (threshold rule). Per operation the cycle emits at most
ONE spike-type anomaly and at most one degradation anomaly:

* the spike rules are the chosen detector (`robust` by default, `zscore` for the seed's
  semantics) and the threshold rule (`bot.analysis.threshold`);
* during a degradation (>= info_pct), a spike is `combined`: CRITICAL if either part is
  CRITICAL, else WARNING;
* otherwise the rule with the higher severity wins and, on a tie, the threshold breach, because
  "took 812 ms, over 2 x its p99 of 310 ms" says more to on-call than a z-score; the other
  rules' findings stay in `details`.

Anything that depends only on the hourly rollups is computed by `prepare` into an
`HourlyContext`; callers that run many cycles within one hour may reuse it with `detect_with`."""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from bot.analysis import partition
from bot.analysis.degradation import Degradation, assess_degradation
from bot.analysis.evidence import Evidence, score
from bot.analysis.histogram import FloatArray
from bot.analysis.params import DegradationParams, DetectionParams
from bot.analysis.robust import robust_evidence, split_reference
from bot.analysis.rollups import Rollups, as_datetime, as_datetime64
from bot.analysis.seasonality import expected_shift, hour_of_day_offsets
from bot.analysis.statistical import zscore_evidence
from bot.analysis.summary import Summary
from bot.analysis.threshold import threshold_evidence
from bot.analysis.weekly import Hours
from bot.models import Anomaly, AnomalyKind, Baseline, Severity

SEASONALITY_DAYS = timedelta(days=7)
# A spike found now may have begun before its window: the hours of this much before `now` are
# left out of its operation's degradation check (the longest window, 15 min, twice).
OPEN_SPIKE = timedelta(minutes=30)


@dataclass(frozen=True, eq=False)
class HourlyContext:
    """What a cycle needs from the hourly rollups: hour-of-day offsets in ln(ms)
    (operations x 24) and the current degradations by operation; with `hourly`, the
    degradation of an operation that spikes in a cycle is judged again without the hours of
    that open spike (`without_open_spikes`)."""

    operations: tuple[str, ...]
    offsets: FloatArray
    degradations: Mapping[str, Degradation]
    hourly: Rollups | None = None
    degradation: DegradationParams = field(default_factory=DegradationParams)
    spike_hours: Mapping[str, Collection[datetime]] = field(default_factory=dict)
    # with `detect`'s `week`, the rows with histograms of some operations (`hourly` has none)
    rows_of: Callable[[Sequence[str]], Rollups] | None = None


def prepare(
    hourly: Rollups,
    now: datetime,
    params: DetectionParams,
    degradation: DegradationParams,
    spike_hours: Mapping[str, Collection[datetime]] | None = None,
) -> HourlyContext:
    """The hourly context at `now`: seasonality from the last 7 days (robust detector only)
    and degradations over `degradation.lookback`, judged without each operation's
    `spike_hours` (see `bot.analysis.degradation`)."""
    offsets = seasonal_offsets(hourly, now, params)
    degradations = assess_degradation(hourly, degradation, now, spike_hours)
    return HourlyContext(
        hourly.operations, offsets, degradations, hourly, degradation, spike_hours or {}
    )


def seasonal_offsets(hourly: Rollups, now: datetime, params: DetectionParams) -> FloatArray:
    """Hour-of-day offsets (operations of `hourly` x 24) from the last 7 days (robust detector
    only; zeros otherwise). Each operation's offsets depend only on its own rows."""
    offsets: FloatArray = np.zeros((len(hourly.operations), 24))
    if params.detector == "robust" and params.seasonality and len(hourly):
        week = hourly.select(as_datetime64(now - SEASONALITY_DAYS), as_datetime64(now))
        offsets = hour_of_day_offsets(week, hourly.operations)
    return offsets


def detect(
    new: Rollups,
    reference: Rollups,
    hourly: Rollups,
    baselines: Mapping[str, Baseline],
    params: DetectionParams,
    now: datetime,
    degradation: DegradationParams | None = None,
    spike_hours: Mapping[str, Collection[datetime]] | None = None,
    week: Hours | None = None,
) -> list[Anomaly]:
    """Run one detection cycle at `now` (UTC). Returns the anomalies, sorted by operation, at
    most one spike-type and one degradation anomaly per operation. Durations in ms.

    `new`: minute rollups of the window being scored (normally the last minute, [now - 1 min,
    now)); `reference`: minute rollups of [now - params.lookback, start of `new`), which must not
    contain the new window's rows; `hourly`: hourly rollups of at least the last 7 days (the
    degradation lookback); `baselines`: the active baselines by operation; `spike_hours`: per
    operation, the hours in which earlier cycles found spikes, left out of the degradation check.
    All with histograms, ideally ordered by bucket (selection is then O(log n)). Operations
    are scored in chunks of `params.chunk_operations` (each operation's verdict depends only on
    its own rows), so peak memory is bounded by the chunk, not by the number of operations.

    `week`: `hourly` in parts, with the degradation check's aggregates of its complete hours
    (built and kept by `bot.analysis.weekly`); with it, the hourly rollups are merged once an
    hour rather than every cycle, with the same results, and `hourly` needs no histograms."""
    names = sorted(set(new.operations) | set(reference.operations) | set(hourly.operations))
    if week is not None:
        return _detect_week(
            new, reference, hourly, baselines, params, now, degradation, spike_hours, week, names
        )
    if len(names) <= params.chunk_operations:
        return _detect(new, reference, hourly, baselines, params, now, degradation, spike_hours)
    found: list[Anomaly] = []
    chunks = partition.chunked(names, params.chunk_operations)
    parts = (partition.split(r, chunks) for r in (new, reference, hourly))
    for n, r, h in zip(*parts, strict=True):
        found.extend(_detect(n, r, h, baselines, params, now, degradation, spike_hours))
    return found  # chunks are consecutive ranges of sorted names: still sorted by operation


def _detect(
    new: Rollups,
    reference: Rollups,
    hourly: Rollups,
    baselines: Mapping[str, Baseline],
    params: DetectionParams,
    now: datetime,
    degradation: DegradationParams | None,
    spike_hours: Mapping[str, Collection[datetime]] | None,
) -> list[Anomaly]:
    context = prepare(hourly, now, params, degradation or DegradationParams(), spike_hours)
    return detect_with(context, new, reference, baselines, params, now)


def _detect_week(
    new: Rollups,
    reference: Rollups,
    hourly: Rollups,
    baselines: Mapping[str, Baseline],
    params: DetectionParams,
    now: datetime,
    degradation: DegradationParams | None,
    spike_hours: Mapping[str, Collection[datetime]] | None,
    week: Hours,
    names: list[str],
) -> list[Anomaly]:
    """`detect` with the complete hours' aggregates: seasonality and degradations for all
    operations at once (neither holds a dense histogram per row), the spike rules in chunks."""
    degradation = degradation or DegradationParams()
    offsets = seasonal_offsets(hourly, now, params)
    degradations = week.week.assess(
        week.partial.recode(hourly.operations), degradation, now, spike_hours or {}
    )
    context = HourlyContext(
        hourly.operations,
        offsets,
        degradations,
        hourly,
        degradation,
        spike_hours or {},
        week.rows_of,
    )
    if len(names) <= params.chunk_operations:
        return detect_with(context, new, reference, baselines, params, now)
    found: list[Anomaly] = []
    chunks = partition.chunked(names, params.chunk_operations)
    parts = (partition.split(r, chunks) for r in (new, reference))
    for chunk, n, r in zip(chunks, *parts, strict=True):
        mine = {name: degradations[name] for name in chunk if name in degradations}
        found.extend(detect_with(replace(context, degradations=mine), n, r, baselines, params, now))
    return found


def detect_with(
    context: HourlyContext,
    new: Rollups,
    reference: Rollups,
    baselines: Mapping[str, Baseline],
    params: DetectionParams,
    now: datetime,
) -> list[Anomaly]:
    """`detect` with a prepared hourly context."""
    spikes, breaches = evaluate(context, new, reference, baselines, params, now)
    degradations = without_open_spikes(context, spikes, breaches, now)
    found: list[Anomaly] = []
    codes = {name: code for code, name in enumerate(spikes.operations)}
    for name in sorted(set(codes) | set(degradations)):
        code = codes.get(name)
        degraded = degradations.get(name)
        if code is not None:
            spike = _spike(code, spikes, breaches, degraded, baselines.get(name), now)
            if spike is not None:
                found.append(spike)
        if degraded is not None:
            found.append(_degradation(degraded, baselines.get(name), now))
    return found


def evaluate(
    context: HourlyContext,
    new: Rollups,
    reference: Rollups,
    baselines: Mapping[str, Baseline],
    params: DetectionParams,
    now: datetime,
) -> tuple[Evidence, Evidence]:
    """The spike detector's and the threshold rule's evidence for the operations of `new`."""
    operations = new.operations
    ref = reference.recode(operations) if reference.operations != operations else reference
    start = as_datetime(new.bucket.min()) if len(new) else now - timedelta(seconds=60)
    window_s = max(int((now - start).total_seconds()), 1)
    fresh = Summary.of(new)
    if params.detector == "robust":
        split = split_reference(ref, now, params.all_windows_min)
        shift = _shift(context, ref, now)
        spikes = robust_evidence(fresh, split, shift, operations, params, window_s)
        reference_stats = split.total
    else:
        reference_stats = Summary.of(ref, histograms=False)
        spikes = zscore_evidence(fresh, reference_stats, operations, params, window_s)
    breaches = threshold_evidence(fresh, reference_stats, operations, baselines, params, window_s)
    return spikes, breaches


def without_open_spikes(
    context: HourlyContext, spikes: Evidence, breaches: Evidence, now: datetime
) -> Mapping[str, Degradation]:
    """The context's degradations, those of operations that spike in this cycle judged again
    without the hours of the spike still open (the last OPEN_SPIKE before `now`): the spikes
    already recorded are left out by `spike_hours`, but not the one found now, whose first
    minutes would otherwise make it a "degradation" (and itself `combined`)."""
    if context.hourly is None:
        return context.degradations
    extra: dict[str, set[datetime]] = {}
    for code, name in enumerate(spikes.operations):
        spiking = spikes.severity_of(code) is not None or breaches.severity_of(code) is not None
        if spiking and name in context.degradations:
            extra[name] = set(context.spike_hours.get(name, ())) | _hours(now - OPEN_SPIKE, now)
    if not extra:
        return context.degradations
    # Each operation's verdict depends only on its own rows: judge only these again.
    names = sorted(extra)
    rows = context.hourly.recode(names) if context.rows_of is None else context.rows_of(names)
    again = assess_degradation(
        rows,
        context.degradation,
        now,
        {**context.spike_hours, **extra},
    )
    result = {k: v for k, v in context.degradations.items() if k not in extra}
    result.update({name: again[name] for name in extra if name in again})
    return result


def _hours(start: datetime, end: datetime) -> set[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    return {first + timedelta(hours=h) for h in range(int((end - first) / timedelta(hours=1)) + 1)}


def _shift(context: HourlyContext, reference: Rollups, now: datetime) -> FloatArray:
    """The expected seasonal ln(ms) shift per op code of `reference` (zeros for operations the
    hourly context does not know)."""
    index = {name: i for i, name in enumerate(context.operations)}
    offsets = np.zeros((len(reference.operations), 24))
    for i, name in enumerate(reference.operations):
        if name in index:
            offsets[i] = context.offsets[index[name]]
    return expected_shift(reference, offsets, now)


def spike_score(spikes: Evidence, breaches: Evidence) -> FloatArray:
    """Per operation, the cycle's spike score in [0, 1): 0.5 is exactly a WARNING bar."""
    result: FloatArray = np.maximum(score(spikes.strength), score(breaches.strength))
    return result


def _spike(
    code: int,
    spikes: Evidence,
    breaches: Evidence,
    degraded: Degradation | None,
    baseline: Baseline | None,
    now: datetime,
) -> Anomaly | None:
    statistical, threshold = spikes.severity_of(code), breaches.severity_of(code)
    if statistical is None and threshold is None:
        return None
    primary = breaches if _rank(threshold) >= _rank(statistical) else spikes
    severity = max(s for s in (statistical, threshold) if s is not None)
    kind = AnomalyKind.THRESHOLD if primary is breaches else AnomalyKind.STATISTICAL
    details: dict[str, Any] = {
        "statistical": spikes.details(code),
        "threshold": breaches.details(code),
    }
    if degraded is not None:
        kind = AnomalyKind.COMBINED
        parts = (severity, degraded.severity or Severity.INFO)
        severity = Severity.CRITICAL if Severity.CRITICAL in parts else Severity.WARNING
        details["degradation"] = _degradation_facts(degraded)
    z = float(primary.z[code])
    return Anomaly(
        operation_type=spikes.operations[code],
        kind=kind,
        severity=severity,
        detector=spikes.rule if primary is spikes else "threshold",
        z_score=z if np.isfinite(z) else None,
        value_ms=_finite(primary.value_ms[code]),
        baseline_mean_ms=baseline.mean_ms if baseline else None,
        baseline_p99_ms=baseline.p99_ms if baseline else None,
        deviation_pct=_finite(primary.deviation_pct[code]),
        degradation_pct=degraded.degradation_pct if degraded else None,
        trend_slope=degraded.trend_slope_ms_per_day if degraded else None,
        confidence=degraded.confidence if degraded else None,
        outliers=int(primary.outliers[code]),
        samples=int(primary.samples[code]),
        window_start=now - timedelta(seconds=int(primary.window_s[code])),
        window_end=now,
        detected_at=now,
        details=details,
    )


def _rank(severity: Severity | None) -> int:
    return -1 if severity is None else severity.rank


def _degradation(degraded: Degradation, baseline: Baseline | None, now: datetime) -> Anomaly:
    return Anomaly(
        operation_type=degraded.operation,
        kind=AnomalyKind.DEGRADATION,
        severity=degraded.severity or Severity.INFO,
        detector="degradation",
        value_ms=degraded.p99_after_ms,
        baseline_mean_ms=baseline.mean_ms if baseline else None,
        baseline_p99_ms=baseline.p99_ms if baseline else None,
        deviation_pct=degraded.degradation_pct,
        degradation_pct=degraded.degradation_pct,
        trend_slope=degraded.trend_slope_ms_per_day,
        confidence=degraded.confidence,
        samples=degraded.samples_before + degraded.samples_after,
        window_start=degraded.window_start,
        window_end=degraded.window_end,
        detected_at=now,
        details=_degradation_facts(degraded),
    )


def _degradation_facts(degraded: Degradation) -> dict[str, Any]:
    return {
        "severity": None if degraded.severity is None else degraded.severity.value,
        "degradation_pct": round(degraded.degradation_pct, 2),
        "p90_change_pct": None if degraded.body_pct is None else round(degraded.body_pct, 2),
        "p99_before_ms": round(degraded.p99_before_ms, 4),
        "p99_after_ms": round(degraded.p99_after_ms, 4),
        "trend": degraded.trend,
        "trend_slope_ms_per_day": degraded.trend_slope_ms_per_day,
        "confidence": degraded.confidence,
        "samples_before": degraded.samples_before,
        "samples_after": degraded.samples_after,
        "midpoint": degraded.midpoint.isoformat(),
    }


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
