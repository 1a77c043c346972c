from datetime import timedelta

import pytest

from bot.analysis.merges import (
    MergePhase,
    ResolutionRating,
    SlaStatus,
    hot_spots,
    merge_regression,
    merge_stats,
    resolution_rating,
    sla_status,
    slowest_phase,
)
from bot.models import MergeRecord, MergeStatus, Severity
from tests.unit.analysis.factories import NOW


def merge(
    total: float = 100.0,
    *,
    source: str = "feature/a",
    target: str = "develop",
    status: MergeStatus = MergeStatus.SUCCESS,
    conflicts: int = 0,
    auto: int = 0,
    phases: tuple[float | None, float | None, float | None] = (10.0, 20.0, None),
) -> MergeRecord:
    return MergeRecord(
        source_branch=source,
        target_branch=target,
        status=status,
        conflicts=conflicts,
        auto_resolved=auto,
        auto_failed=conflicts - auto,
        base_find_ms=phases[0],
        conflict_detect_ms=phases[1],
        auto_resolve_ms=phases[2],
        total_ms=total,
        started_at=NOW - timedelta(minutes=5),
    )


@pytest.mark.parametrize(
    ("duration", "status"),
    [
        (100.0, SlaStatus.OK),
        (100.01, SlaStatus.DEGRADED),
        (150.0, SlaStatus.DEGRADED),
        (150.01, SlaStatus.CRITICAL),
    ],
)
def test_sla(duration, status):
    assert sla_status(duration, 100.0) is status


@pytest.mark.parametrize(
    ("phases", "slowest"),
    [
        ((30.0, 20.0, 10.0), MergePhase.BASE_FINDING),
        ((10.0, 20.0, None), MergePhase.CONFLICT_DETECTION),
        ((1.0, 2.0, 3.0), MergePhase.AUTO_RESOLUTION),
        ((20.0, 20.0, 10.0), MergePhase.UNKNOWN),  # a tie: no strictly largest phase
        ((None, None, None), MergePhase.UNKNOWN),
    ],
)
def test_slowest_phase(phases, slowest):
    assert slowest_phase(merge(phases=phases)) is slowest


@pytest.mark.parametrize(
    ("auto", "manual", "rejected", "rating"),
    [
        (5, 0, 0, ResolutionRating.EXCELLENT),
        (5, 0, 1, ResolutionRating.GOOD),
        (5, 5, 0, ResolutionRating.GOOD),
        (0, 0, 0, ResolutionRating.GOOD),  # no conflicts at all
        (2, 5, 0, ResolutionRating.FAIR),
        (0, 5, 1, ResolutionRating.NEEDS_IMPROVEMENT),
    ],
)
def test_resolution_rating(auto, manual, rejected, rating):
    assert resolution_rating(auto, manual, rejected) is rating


def test_hot_spots_sorted_by_rate_then_attempts():
    records = (
        [merge(source="a", conflicts=1, auto=1)] * 2
        + [merge(source="a")] * 2  # 2/4
        + [merge(source="b", conflicts=2)] * 3
        + [merge(source="b")] * 3  # 3/6
        + [merge(source="c", conflicts=1)]
        + [merge(source="c")] * 3  # 1/4
        + [merge(source="d")] * 5  # never conflicts: not a hot spot
    )
    assert [(s.source, s.attempts, s.conflicts, s.rate) for s in hot_spots(records)] == [
        ("b", 6, 3, 0.5),
        ("a", 4, 2, 0.5),
        ("c", 4, 1, 0.25),
    ]


def test_merge_stats():
    records = [
        merge(100.0),
        merge(200.0, conflicts=3, auto=3, phases=(5.0, 10.0, 40.0)),
        merge(300.0, status=MergeStatus.PARTIAL_SUCCESS, conflicts=4, auto=1),
        merge(400.0, status=MergeStatus.FAILED, conflicts=2),
    ]
    stats = merge_stats(records, baseline_p99_ms=250.0)
    assert stats.merges == 4
    assert stats.success_rate == 0.75
    assert stats.conflict_rate == 0.75
    assert stats.p50_ms == 250.0
    assert stats.p95_ms == pytest.approx(385.0)
    assert (stats.auto_resolved, stats.manual, stats.rejected) == (4, 3, 1)
    assert stats.rating is ResolutionRating.GOOD
    assert stats.sla is SlaStatus.CRITICAL  # p95 385 > 1.5 x 250
    assert stats.slowest_phase is MergePhase.AUTO_RESOLUTION  # mean 40 vs 20 vs 8.75
    assert stats.slowest_phase_counts == {
        MergePhase.CONFLICT_DETECTION: 3,
        MergePhase.AUTO_RESOLUTION: 1,
    }


def test_merge_stats_need_merges():
    with pytest.raises(ValueError, match="no merges"):
        merge_stats([], None)


@pytest.mark.parametrize(
    ("totals", "sla", "severity"),
    [
        ([100.0] * 20, None, None),
        ([100.0] * 18 + [130.0] * 2, SlaStatus.DEGRADED, Severity.WARNING),
        ([100.0] * 18 + [200.0] * 2, SlaStatus.CRITICAL, Severity.CRITICAL),
        ([500.0] * 9, None, None),  # fewer than 10 merges: no verdict
    ],
)
def test_merge_regression(totals, sla, severity):
    found = merge_regression([merge(t) for t in totals], baseline_p99_ms=100.0)
    assert (None if found is None else (found.sla, found.severity)) == (
        None if sla is None else (sla, severity)
    )
