"""Merge analytics over pgGit merges: outcome and conflict rates, duration percentiles, conflict
hot spots by branch pair, the slowest phase, SLA status against the merges' own baseline p99,
how well auto-resolution works, and the merge-regression check detection runs.

Definitions (the seed's dashboards, adapted to `MergeRecord`):
* success = the merge landed: SUCCESS or PARTIAL_SUCCESS (some conflicts resolved by hand);
* conflict rate = merges with at least one conflict / merges;
* SLA of a duration d against p99: OK if d <= p99, DEGRADED if d <= 1.5 x p99, else CRITICAL;
* auto-resolution, over merges with conflicts: auto = conflicts auto-resolved, manual =
  conflicts - auto-resolved in merges that landed, rejected = such merges FAILED or ABANDONED;
  EXCELLENT if auto > 0 and manual = rejected = 0; GOOD if auto >= manual (so also with no
  conflicts at all); FAIR if auto > 0; else NEEDS_IMPROVEMENT."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from bot.models import MergeRecord, MergeStatus, Severity

LANDED = frozenset({MergeStatus.SUCCESS, MergeStatus.PARTIAL_SUCCESS})
REJECTED = frozenset({MergeStatus.FAILED, MergeStatus.ABANDONED})
DEGRADED_FACTOR = 1.5


class MergePhase(StrEnum):
    BASE_FINDING = "BASE_FINDING"
    CONFLICT_DETECTION = "CONFLICT_DETECTION"
    AUTO_RESOLUTION = "AUTO_RESOLUTION"
    UNKNOWN = "UNKNOWN"


class SlaStatus(StrEnum):
    OK = "OK"
    DEGRADED = "DEGRADED"
    CRITICAL = "CRITICAL"


class ResolutionRating(StrEnum):
    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    FAIR = "FAIR"
    NEEDS_IMPROVEMENT = "NEEDS_IMPROVEMENT"


@dataclass(frozen=True)
class HotSpot:
    """A (source, target) branch pair with at least one conflicted merge."""

    source: str
    target: str
    attempts: int
    conflicts: int  # merges with at least one conflict
    rate: float  # conflicts / attempts


@dataclass(frozen=True)
class MergeStats:
    """Analytics over a set of merges; durations in ms, rates in [0, 1]."""

    merges: int
    success_rate: float
    conflict_rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    hot_spots: tuple[HotSpot, ...]
    slowest_phase: MergePhase  # the strictly largest mean phase time, else UNKNOWN
    slowest_phase_counts: dict[MergePhase, int]  # how often each phase was a merge's slowest
    phase_means_ms: dict[MergePhase, float]  # the mean time of each phase with data, in ms
    sla: SlaStatus | None  # p95 against the baseline p99; None without a baseline
    auto_resolved: int
    manual: int
    rejected: int
    rating: ResolutionRating


@dataclass(frozen=True)
class MergeRegression:
    """Recent merges are slow against their baseline: p95 above the baseline p99."""

    sla: SlaStatus
    severity: Severity
    p95_ms: float
    baseline_p99_ms: float
    ratio: float  # p95 / baseline p99
    merges: int


def sla_status(duration_ms: float, baseline_p99_ms: float) -> SlaStatus:
    """OK if duration <= p99, DEGRADED if <= 1.5 x p99, else CRITICAL."""
    if duration_ms <= baseline_p99_ms:
        return SlaStatus.OK
    if duration_ms <= DEGRADED_FACTOR * baseline_p99_ms:
        return SlaStatus.DEGRADED
    return SlaStatus.CRITICAL


def slowest_phase(record: MergeRecord) -> MergePhase:
    """The phase that took strictly longest; UNKNOWN on a tie or without phase times."""
    phases = {
        MergePhase.BASE_FINDING: record.base_find_ms,
        MergePhase.CONFLICT_DETECTION: record.conflict_detect_ms,
        MergePhase.AUTO_RESOLUTION: record.auto_resolve_ms,
    }
    return _strict_max({p: v for p, v in phases.items() if v is not None})


def resolution_rating(auto: int, manual: int, rejected: int) -> ResolutionRating:
    """EXCELLENT / GOOD / FAIR / NEEDS_IMPROVEMENT, as in the module docstring."""
    if auto > 0 and manual == 0 and rejected == 0:
        return ResolutionRating.EXCELLENT
    if auto >= manual:
        return ResolutionRating.GOOD
    if auto > 0:
        return ResolutionRating.FAIR
    return ResolutionRating.NEEDS_IMPROVEMENT


def hot_spots(records: Sequence[MergeRecord]) -> tuple[HotSpot, ...]:
    """Branch pairs with conflicts, by conflict rate then attempts, both descending."""
    attempts: Counter[tuple[str, str]] = Counter()
    conflicted: Counter[tuple[str, str]] = Counter()
    for m in records:
        attempts[(m.source_branch, m.target_branch)] += 1
        conflicted[(m.source_branch, m.target_branch)] += m.conflicts > 0
    spots = [
        HotSpot(source, target, attempts[(source, target)], c, c / attempts[(source, target)])
        for (source, target), c in conflicted.items()
        if c > 0
    ]
    return tuple(sorted(spots, key=lambda s: (-s.rate, -s.attempts, s.source, s.target)))


def merge_stats(records: Sequence[MergeRecord], baseline_p99_ms: float | None) -> MergeStats:
    """Analytics over `records` (at least one); `baseline_p99_ms` is the merges' own p99."""
    if not records:
        raise ValueError("no merges to analyse")
    totals = np.array([m.total_ms for m in records])
    p50, p95, p99 = (float(v) for v in np.percentile(totals, [50, 95, 99]))
    conflicted = [m for m in records if m.conflicts > 0]
    auto = sum(m.auto_resolved for m in conflicted)
    manual = sum(m.conflicts - m.auto_resolved for m in conflicted if m.status in LANDED)
    rejected = sum(1 for m in conflicted if m.status in REJECTED)
    means = {
        phase: float(np.mean(values)) for phase, values in _phase_times(records).items() if values
    }
    return MergeStats(
        merges=len(records),
        success_rate=sum(m.status in LANDED for m in records) / len(records),
        conflict_rate=len(conflicted) / len(records),
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        hot_spots=hot_spots(records),
        slowest_phase=_strict_max(means),
        slowest_phase_counts=dict(Counter(slowest_phase(m) for m in records)),
        phase_means_ms=means,
        sla=None if baseline_p99_ms is None else sla_status(p95, baseline_p99_ms),
        auto_resolved=auto,
        manual=manual,
        rejected=rejected,
        rating=resolution_rating(auto, manual, rejected),
    )


def merge_regression(
    records: Sequence[MergeRecord], baseline_p99_ms: float, *, min_merges: int = 10
) -> MergeRegression | None:
    """The merge-regression check: the p95 of `records` (recent merges) against the merges'
    baseline p99 -> DEGRADED (WARNING) or CRITICAL. None when the SLA is OK or there are fewer
    than `min_merges` merges (a p95 of a handful is the slowest of them)."""
    if len(records) < min_merges or baseline_p99_ms <= 0:
        return None
    p95 = float(np.percentile([m.total_ms for m in records], 95))
    sla = sla_status(p95, baseline_p99_ms)
    if sla is SlaStatus.OK:
        return None
    severity = Severity.CRITICAL if sla is SlaStatus.CRITICAL else Severity.WARNING
    return MergeRegression(sla, severity, p95, baseline_p99_ms, p95 / baseline_p99_ms, len(records))


def _phase_times(records: Sequence[MergeRecord]) -> dict[MergePhase, list[float]]:
    times: dict[MergePhase, list[float]] = {
        MergePhase.BASE_FINDING: [],
        MergePhase.CONFLICT_DETECTION: [],
        MergePhase.AUTO_RESOLUTION: [],
    }
    for m in records:
        for phase, value in (
            (MergePhase.BASE_FINDING, m.base_find_ms),
            (MergePhase.CONFLICT_DETECTION, m.conflict_detect_ms),
            (MergePhase.AUTO_RESOLUTION, m.auto_resolve_ms),
        ):
            if value is not None:
                times[phase].append(value)
    return times


def _strict_max(values: dict[MergePhase, float]) -> MergePhase:
    if not values:
        return MergePhase.UNKNOWN
    top = max(values.values())
    leaders = [phase for phase, v in values.items() if v == top]
    return leaders[0] if len(leaders) == 1 else MergePhase.UNKNOWN
